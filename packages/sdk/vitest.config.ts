import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'sdk',
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // As in apps/server: modules kept between files (no test here mocks a module).
    isolate: false,
    // Type tests (`*.test-d.ts`) fail the run too, not only `tsc --noEmit`.
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
})
