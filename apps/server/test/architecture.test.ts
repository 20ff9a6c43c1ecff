/**
 * The house's shape (docs/design.md, "Where things live"), checked: no import loop, type-only
 * loops included, in any package's sources, and no source file over 400 lines. The layers
 * themselves (which floor may import which) are lint rules in eslint.config.js; the loop finder is
 * the SDK's, tested there on a tree of its own.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { describe, expect, it } from 'vitest'

import { findImportCycles } from '../../../packages/sdk/test/import-graph.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const SOURCES = ['apps/server/src', 'packages/auth/src', 'packages/db/src', 'packages/sdk/src']
const MAX_LINES = 400

describe('architecture', () => {
  it.each(SOURCES)('%s has no import loop', (dir) => {
    expect(findImportCycles(join(ROOT, dir))).toEqual([])
  })

  it('no source or test file is over 400 lines', () => {
    const long: string[] = []
    for (const dir of [...SOURCES, 'apps/server/test', 'packages/sdk/test', 'packages/db/test']) {
      for (const name of readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
        if (!/\.tsx?$/.test(name)) continue
        const lines = readFileSync(join(ROOT, dir, name), 'utf8').split('\n').length - 1
        if (lines > MAX_LINES) long.push(`${dir}/${name}: ${lines}`)
      }
    }
    expect(long).toEqual([])
  })
})
