/**
 * vitest `globalSetup` (root vitest.config.ts): once per run, names the file the run's migrated
 * PGlite template is kept in (`createTestDb`, testing.ts), new each run so it never outlives a
 * change to the migrations, and removes it at the end. Set before the test processes start, so
 * every one of them inherits it.
 */
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { PGLITE_TEMPLATE_ENV } from './testing.js'

export function setup() {
  const file = join(tmpdir(), `gatehouse-pglite-template-${process.pid}-${Date.now()}.tar`)
  process.env[PGLITE_TEMPLATE_ENV] = file
  return async () => {
    await rm(file, { force: true })
  }
}
