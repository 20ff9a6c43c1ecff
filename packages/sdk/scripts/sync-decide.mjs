/**
 * Copies the access rules (packages/auth/src/permissions/decide.ts) into the SDK, byte for byte,
 * so a front end's `can()` runs the very code and catalogue the server ships. Run by `build`
 * before tsc; test/decide-sync.test.ts fails when the copy is stale.
 *
 * The file is rewritten only when it differs: an unchanged mtime keeps dist/ from looking stale.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import process from 'node:process'
import { fileURLToPath, URL } from 'node:url'

const SOURCE = fileURLToPath(new URL('../../auth/src/permissions/decide.ts', import.meta.url))
const TARGET = fileURLToPath(new URL('../src/internal/decide.ts', import.meta.url))

const rules = readFileSync(SOURCE)
let current = null
try {
  current = readFileSync(TARGET)
} catch (error) {
  if (error?.code !== 'ENOENT') throw error
}
if (current === null || !rules.equals(current)) {
  writeFileSync(TARGET, rules)
  process.stderr.write('sync-decide: src/internal/decide.ts updated from packages/auth/src/permissions/decide.ts\n')
}
