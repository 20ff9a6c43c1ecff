// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.data/**', '**/.turbo/**', 'bench/results/**', '**/.tmp/**', '**/.test-dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts', 'eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'max-params': ['error', 3],
      'no-console': 'error',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration in apps/server/src/config.ts and pass it down.' },
      ],
    },
  },
  {
    // Where the process meets its environment, and test code.
    files: [
      'apps/server/src/config.ts',
      'apps/server/src/main.ts',
      'apps/server/src/cli/main.ts',
      'packages/db/src/testing.ts',
      'packages/db/src/testing-setup.ts',
      '**/test/**',
      '**/*.test.ts',
      'bench/**',
      '*.config.ts',
      '**/vitest.config.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/test/**', '**/*.test.ts', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      'no-console': 'off',
    },
  },
  // The layers (docs/design.md, "Where things live"): each floor imports only the floors below it.
  {
    files: ['packages/db/src/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@gatehouse/*', '@trpc/*', 'node:http', 'node:https'], message: 'packages/db knows no auth, no HTTP and no tRPC.' }] },
      ],
    },
  },
  {
    files: ['packages/auth/src/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@gatehouse/server', '@gatehouse/sdk', '@trpc/*', 'node:http', 'node:https', 'zod'], message: 'packages/auth knows no HTTP and no tRPC: the server translates.' }] },
      ],
    },
  },
  {
    files: ['packages/sdk/src/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@gatehouse/server', '@gatehouse/server/*'], allowTypeImports: true, message: 'The SDK imports only types from the server.' },
            { group: ['@gatehouse/auth', '@gatehouse/db', '@gatehouse/auth/*', '@gatehouse/db/*'], message: 'The SDK runs in browsers: no server-side package.' },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/server/src/kit/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*'], message: "kit/ is the server's ground floor: it imports nothing else of the server." }] },
      ],
    },
  },
  {
    files: ['apps/server/src/routers/**', 'apps/server/src/middleware/**', 'apps/server/src/oauth-core/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../http/*', '../rest/*', '../oauth/*', '../cli/*'], message: 'Procedures never import the edge (http/, rest/, oauth/) or the CLI; the edge imports them.' },
          ],
        },
      ],
    },
  },
  {
    // Kysely's own pattern: migrations and the migrator work on Kysely<any>, frozen in time.
    files: ['packages/db/src/migrations/**', 'packages/db/src/migrate.ts', 'packages/db/src/testing.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
)
