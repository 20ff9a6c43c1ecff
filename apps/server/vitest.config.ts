import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'server',
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // One server bundle per run, which the server processes tests start run (test/setup-bundle.ts).
    globalSetup: ['./test/setup-bundle.ts'],
    // A worker keeps its modules from one test file to the next: importing the server's module
    // graph (oidc-provider, PGlite's WebAssembly) anew for every file cost the suite a fifth of its
    // time. The files share no state through modules: each starts its own servers and databases,
    // and none mocks a module (packages/auth does, and stays isolated).
    isolate: false,
  },
})
