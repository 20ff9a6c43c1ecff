/**
 * Checks the built package (`dist/`) as an app outside the workspace would get it: no server
 * code at run time, no reference to the workspace's private packages in the declarations, and
 * types that resolve with only @trpc/* installed. Builds nothing: `pnpm test` builds first.
 */
import { execFileSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))
const DIST = join(PACKAGE_DIR, 'dist')

/** What the emitted JavaScript may import: the tRPC client and the observable it is built on. */
const RUNTIME_IMPORTS = new Set(['@trpc/client', '@trpc/server/observable'])
/** What the emitted declarations may refer to: the SDK's own dependencies. */
const TYPE_IMPORTS = new Set(['@trpc/client', '@trpc/server', '@trpc/server/observable'])

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
}

/** Module specifiers in import/export statements, `import()` types and calls, and references. */
function specifiersIn(source: string): string[] {
  const found = new Set<string>()
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\/\/\/\s*<reference\s+(?:types|path)=['"]([^'"]+)['"]/g,
  ]
  for (const pattern of patterns)
    for (const match of withoutComments(source).matchAll(pattern)) found.add(match[1] ?? '')
  return [...found]
}

/** JSDoc examples import '@gatehouse/sdk'; they are not imports. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/(?!\/\s*<reference).*$/gm, '')
}

const isRelative = (specifier: string) => specifier.startsWith('./') || specifier.startsWith('../')

beforeAll(() => {
  if (!existsSync(join(DIST, 'index.js'))) {
    throw new Error('packages/sdk/dist is missing: run `pnpm --filter @gatehouse/sdk build` (root `pnpm test` does)')
  }
  const built = statSync(join(DIST, 'index.js')).mtimeMs
  const stale = filesUnder(join(PACKAGE_DIR, 'src')).filter((file) => statSync(file).mtimeMs > built)
  if (stale.length > 0) {
    throw new Error(`packages/sdk/dist is older than ${relative(PACKAGE_DIR, stale[0] ?? '')}: rebuild it`)
  }
})

describe('the built package', () => {
  it('has the entry points package.json names', () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
      exports: { '.': { types: string; default: string } }
      dependencies: Record<string, string>
    }
    expect(existsSync(join(PACKAGE_DIR, pkg.exports['.'].types))).toBe(true)
    expect(existsSync(join(PACKAGE_DIR, pkg.exports['.'].default))).toBe(true)
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@trpc/client', '@trpc/server'])
  })

  it('imports nothing at run time but the tRPC client', () => {
    const js = filesUnder(DIST).filter((file) => file.endsWith('.js'))
    expect(js.map((file) => relative(DIST, file))).toContain('index.js')
    for (const file of js) {
      const source = readFileSync(file, 'utf8')
      const external = specifiersIn(source).filter((s) => !isRelative(s))
      for (const specifier of external) {
        expect(RUNTIME_IMPORTS, `${relative(DIST, file)} imports ${specifier}`).toContain(specifier)
      }
      expect(withoutComments(source), relative(DIST, file)).not.toMatch(
        /@gatehouse\/|apps\/server|kysely|bcrypt|pglite/,
      )
    }
  })

  it('declares no type in terms of @gatehouse/server, @gatehouse/auth or @gatehouse/db', () => {
    const dts = filesUnder(DIST).filter((file) => file.endsWith('.d.ts'))
    expect(dts.map((file) => relative(DIST, file))).toContain('index.d.ts')
    for (const file of dts) {
      const source = readFileSync(file, 'utf8')
      const external = specifiersIn(source).filter((s) => !isRelative(s))
      for (const specifier of external) {
        expect(TYPE_IMPORTS, `${relative(DIST, file)} refers to ${specifier}`).toContain(specifier)
      }
      expect(withoutComments(source), relative(DIST, file)).not.toMatch(/@gatehouse\/|AppRouter/)
    }
  })
})

describe('outside the workspace', () => {
  let dir: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-sdk-consumer-'))
    const sdk = join(dir, 'node_modules', '@gatehouse', 'sdk')
    mkdirSync(sdk, { recursive: true })
    cpSync(DIST, join(sdk, 'dist'), { recursive: true })
    cpSync(join(PACKAGE_DIR, 'package.json'), join(sdk, 'package.json'))
    mkdirSync(join(dir, 'node_modules', '@trpc'))
    for (const name of ['@trpc/client', '@trpc/server', 'typescript']) {
      symlinkSync(realpathSync(join(PACKAGE_DIR, 'node_modules', name)), join(dir, 'node_modules', name), 'dir')
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          // tRPC's own declarations name Disposable and AsyncDisposable.
          lib: ['ES2023', 'ESNext.Disposable', 'DOM'],
          types: [],
          noEmit: true,
          skipLibCheck: false,
        },
        include: ['src'],
      }),
    )
    mkdirSync(join(dir, 'src'))
    writeFileSync(
      join(dir, 'src', 'app.ts'),
      `import type { Action, CookieJar, GatehouseError, GatehouseMode, GatehouseOutputs, GatehouseRouter, Resource, Subject, TokenStorage } from '@gatehouse/sdk'
import { ACTIONS, CATALOGUE, can, createGatehouseClient, isDenied, isGatehouseError, memoryCookieJar, memoryStorage, webStorage } from '@gatehouse/sdk'
import { createTRPCClient, httpLink } from '@trpc/client'

const storage: TokenStorage = typeof localStorage === 'undefined' ? memoryStorage() : webStorage(localStorage)
const client = createGatehouseClient({ url: 'http://localhost:3000', storage })
let sent = 0
export const counted = createGatehouseClient({
  url: new URL('http://localhost:3000'),
  fetch: (input, init) => {
    sent += 1
    return fetch(input, init)
  },
  headers: async () => ({ 'x-sent': String(sent) }),
  batch: false,
})

export async function main(): Promise<string> {
  const { access, refresh, user } = await client.auth.login({ username: 'alice', password: 'correct horse' })
  // @ts-expect-error the password is required
  await client.auth.login({ username: 'alice' })
  // @ts-expect-error a user never carries a password
  void user.password
  const groups: string[] = user.groups
  const { message } = await client.content.protected()
  const exact: 'This is a protected view' = message
  await client.auth.refresh()
  await client.auth.logout({ refresh })
  const me: GatehouseOutputs['auth']['me'] = await client.trpc.auth.me.query()
  const raw = createTRPCClient<GatehouseRouter>({ links: [httpLink({ url: 'http://localhost:3000/trpc' })] })
  await raw.auth.verify.mutate({ token: access })
  return [exact, me.user.username, ...groups].join()
}

export async function permissions(): Promise<boolean[]> {
  const subject: Subject = await client.loadPermissions()
  const { article } = await client.articles.create({ title: 'Title', body: 'Body', published: true })
  const { items } = await client.admin.users.list({ search: 'al' })
  // @ts-expect-error not a catalogued resource
  client.can('view', 'comment')
  const actions: readonly Action[] = ACTIONS
  const resources = Object.keys(CATALOGUE) as Resource[]
  return [
    client.can('change', 'article', article),
    can(subject, 'delete', 'article', article),
    actions.length === resources.length,
    items.length > 0,
  ]
}

const jar: CookieJar = memoryCookieJar()
const cookieClient = createGatehouseClient({ url: 'http://localhost:3000', mode: 'cookie', cookies: jar })
const slidingClient = createGatehouseClient({ url: 'http://localhost:3000', mode: 'sliding', storage })

export async function modes(): Promise<string> {
  const { user } = await cookieClient.auth.session.login({ username: 'alice', password: 'correct horse' })
  await cookieClient.auth.login({ username: 'alice', password: 'correct horse' })
  const { items } = await cookieClient.auth.session.list()
  await cookieClient.auth.logout()
  const { token } = await slidingClient.auth.sliding.obtain({ username: 'alice', password: 'correct horse' })
  await slidingClient.auth.sliding.refresh()
  // @ts-expect-error a sliding token is { token }
  await slidingClient.auth.sliding.logout({ refresh: token })
  const { detail } = await slidingClient.auth.logoutAll()
  const mode: GatehouseMode = 'sliding'
  return [user.username, items.length, detail, mode, jar.get('csrftoken', 'http://localhost:3000/trpc')].join()
}

export function describeDenial(error: unknown): string {
  if (!isDenied(error)) return 'other'
  switch (error.data.reason) {
    case 'NOT_AUTHENTICATED':
      return 'log in'
    case 'NOT_PERMITTED':
      return 'forbidden'
    case 'THROTTLED':
      return 'later'
  }
}

export function describeError(error: unknown): string {
  if (!isGatehouseError(error)) return 'network'
  const narrowed: GatehouseError = error
  switch (narrowed.data.reason) {
    case 'TOKEN_EXPIRED':
    case 'INVALID_CREDENTIALS':
      return 'log in again'
    case undefined:
      return narrowed.data.code
    default:
      return Object.keys(narrowed.data.fieldErrors ?? {}).join() || String(narrowed.data.httpStatus)
  }
}
`,
    )
  })

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('type-checks an app that has only @gatehouse/sdk, @trpc/* and typescript installed', () => {
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc')
    let output = ''
    try {
      output = execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8', stdio: 'pipe' })
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string }
      throw new Error(`tsc failed in ${dir}:\n${stdout ?? ''}${stderr ?? ''}`)
    }
    expect(output).toBe('')
  })
})
