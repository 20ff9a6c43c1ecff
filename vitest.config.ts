import { availableParallelism } from 'node:os'

import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['apps/*', 'packages/*'],
    restoreMocks: true,
    // One migrated PGlite template per run, which every test database on PGlite starts from.
    globalSetup: ['./packages/db/src/testing-setup.ts'],
    // vitest's default (one worker fewer than the cores) is a single worker on a 2-core machine.
    // Most of a test file's time is waiting (a server starting, a socket, a password hash on
    // libuv's threads), not this process's CPU: two files at once on two cores finish sooner.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})
