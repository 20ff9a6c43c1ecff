/**
 * vitest `globalSetup` for the server's tests: builds the server bundle once per run, as
 * `pnpm start` does, into a folder of this run's own, and names it in GATEHOUSE_TEST_BUNDLE. Server
 * processes the tests start run it with plain node (helpers/process.ts): what users run, and a
 * start in well under a second instead of tsx compiling the sources in every process and worker.
 */
import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const TEST_BUNDLE_ENV = 'GATEHOUSE_TEST_BUNDLE'

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url))

export async function setup() {
  // Inside apps/server, so the bundle's external dependencies resolve from its node_modules.
  const outdir = join(SERVER_DIR, '.test-dist', `run-${process.pid}-${Date.now()}`)
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', outdir], { cwd: SERVER_DIR })
  process.env[TEST_BUNDLE_ENV] = join(outdir, 'main.js')
  return async () => {
    await rm(outdir, { recursive: true, force: true })
  }
}
