// Builds the server as it runs in production: one ES module (dist/main.js) holding the server and
// the workspace packages it imports (their sources are TypeScript), with every npm dependency left
// external and loaded from node_modules as usual. Running that with plain `node` skips tsx's loader,
// whose worker thread, on-the-fly compilation and `__name` wrappers cost start-up time, memory and
// a few percent of every request (docs/performance.md).
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { argv } from 'node:process'
import { fileURLToPath } from 'node:url'

import { build } from 'esbuild'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
// `--outdir DIR` builds elsewhere (the tests build a bundle of their own, so that a test of
// `pnpm start`'s build never rewrites the file other tests are starting servers from).
const outdirFlag = argv.indexOf('--outdir')
const dist = outdirFlag === -1 ? join(root, 'dist') : resolve(argv[outdirFlag + 1] ?? 'dist')
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'))

// Everything the server depends on at run time except our own packages, which are bundled. A
// dependency of a workspace package that the server does not list itself would not resolve from
// dist/, so the build refuses rather than producing a bundle that fails at start.
const workspace = (name) => name.startsWith('@gatehouse/')
const external = Object.keys(pkg.dependencies).filter((name) => !workspace(name))
for (const dep of Object.keys(pkg.dependencies).filter(workspace)) {
  const dir = join(root, 'node_modules', ...dep.split('/'))
  const depPkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'))
  const missing = Object.keys(depPkg.dependencies ?? {}).filter((name) => !workspace(name) && !external.includes(name))
  if (missing.length > 0) {
    throw new Error(`${dep} needs ${missing.join(', ')}: add them to @gatehouse/server's dependencies`)
  }
}

await rm(dist, { recursive: true, force: true })
await mkdir(dist, { recursive: true })
await build({
  entryPoints: [join(root, 'src/main.ts')],
  outfile: join(dist, 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Subpath imports (`@trpc/server/adapters/standalone`, `kysely/helpers/postgres`) are external too.
  external: external.flatMap((name) => [name, `${name}/*`]),
  sourcemap: 'linked',
  logLevel: 'warning',
})
// Files the bundled code reads next to itself (`new URL('./…', import.meta.url)`).
await copyFile(
  join(root, 'node_modules/@gatehouse/auth/src/password/common-passwords.txt.gz'),
  join(dist, 'common-passwords.txt.gz'),
)
