import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'server',
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // One server bundle per run, which the server processes tests start run (test/setup-bundle.ts).
    globalSetup: ['./test/setup-bundle.ts'],
  },
})
