import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['apps/*', 'packages/*'],
    restoreMocks: true,
    // One migrated PGlite template per run, which every test database on PGlite starts from.
    globalSetup: ['./packages/db/src/testing-setup.ts'],
  },
})
