/**
 * `can()` in a front end must be the server's own rules, not a restatement that drifts. The SDK
 * ships a copy of packages/auth/src/permissions/decide.ts (the copy is what gets published); this
 * fails when the rules change without `pnpm --filter @gatehouse/sdk sync-decide` (or a build).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const ORIGINAL = new URL('../../auth/src/permissions/decide.ts', import.meta.url)
const COPY = new URL('../src/internal/decide.ts', import.meta.url)

describe('src/internal/decide.ts', () => {
  it('is byte-identical to packages/auth/src/permissions/decide.ts', () => {
    const original = readFileSync(ORIGINAL)
    const copy = readFileSync(COPY)
    // Compared as text first so a failure shows the diff, then as bytes (line endings, BOM).
    expect(copy.toString('utf8'), 'run `pnpm --filter @gatehouse/sdk sync-decide`').toBe(original.toString('utf8'))
    expect(copy.equals(original), 'run `pnpm --filter @gatehouse/sdk sync-decide`').toBe(true)
  })

  it('imports nothing, so the copy runs in a browser without the server', () => {
    expect(readFileSync(COPY, 'utf8')).not.toMatch(/^\s*(import|export\s[^;]*\sfrom)\s/m)
  })
})
