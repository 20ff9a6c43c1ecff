/**
 * `createGatehouseClient`: the server's procedures as plain async functions, with the tokens
 * kept in a storage adapter, sent on every call, and refreshed when they expire.
 */
import type { AppRouter } from '@gatehouse/server'
import type { HTTPBatchLinkOptions, Operation, TRPCClient } from '@trpc/client'
import type { AnyTRPCProcedure, inferProcedureInput, inferTransformedProcedureOutput } from '@trpc/server'
import type { AccessObject, Action, Resource, Subject } from './permissions.js'
import type { GatehouseInputs, GatehouseOutputs, GatehouseRouter, ProcedureKinds } from './router.js'
import type { TokenStorage } from './storage/token-storage.js'
import { createTRPCClient, getUntypedClient, httpBatchLink, httpLink } from '@trpc/client'

import { isGatehouseError } from './errors.js'
import { createSession } from './internal/session.js'
import { refreshLink } from './links/refresh.js'
import { ANONYMOUS_SUBJECT, can, toSubject } from './permissions.js'
import { memoryStorage } from './storage/memory.js'
import { toTokens } from './storage/token-storage.js'

/**
 * Queries go out as GET and mutations as POST, so the client must know each procedure's kind at
 * run time. The annotation makes `tsc` prove this table complete and exact: a procedure added,
 * removed or changed on the server is a type error here until the table follows.
 */
const PROCEDURE_KINDS: ProcedureKinds<AppRouter> = {
  'auth.register': 'mutation',
  'auth.login': 'mutation',
  'auth.refresh': 'mutation',
  'auth.logout': 'mutation',
  'auth.verify': 'mutation',
  'auth.me': 'query',
  'auth.catalogue': 'query',
  'auth.tokens.obtain': 'mutation',
  'auth.tokens.create': 'mutation',
  'auth.tokens.list': 'query',
  'auth.tokens.revoke': 'mutation',
  'auth.tokens.revokeAll': 'mutation',
  'content.protected': 'query',
  'content.admin': 'query',
  'content.manager': 'query',
  'content.hr': 'query',
  'articles.create': 'mutation',
  'articles.list': 'query',
  'articles.get': 'query',
  'articles.update': 'mutation',
  'articles.delete': 'mutation',
  'articles.share': 'mutation',
  'admin.users.list': 'query',
  'admin.users.get': 'query',
  'admin.users.update': 'mutation',
  'admin.users.activate': 'mutation',
  'admin.users.deactivate': 'mutation',
  'admin.users.setGroups': 'mutation',
  'admin.groups.list': 'query',
  'admin.groups.create': 'mutation',
  'admin.groups.delete': 'mutation',
  'admin.permissions.list': 'query',
  'admin.permissions.grant': 'mutation',
  'admin.permissions.revoke': 'mutation',
}

type ProcedurePath = keyof typeof PROCEDURE_KINDS

/**
 * The public token endpoints. They never carry the access token (an expired one must not get in
 * the way of logging in again) and are never auto-refreshed (their 401s are the answer).
 */
const TOKEN_PATHS: ReadonlySet<string> = new Set<ProcedurePath>([
  'auth.register',
  'auth.login',
  'auth.refresh',
  'auth.logout',
  'auth.verify',
  'auth.tokens.obtain',
])

// Longer batched GET URLs are split: some proxies and browsers refuse more than about 8 KB.
const MAX_URL_LENGTH = 4_000

const LOGGED_OUT = { detail: 'Successfully logged out.' } as const satisfies GatehouseOutputs['auth']['logout']

/** The `fetch` the client may be given: the global one, or anything shaped like it. */
export type GatehouseFetch = NonNullable<HTTPBatchLinkOptions<GatehouseRouter['_def']['_config']['$types']>['fetch']>

/** Extra request headers; `undefined` values are left out. */
export type GatehouseHeaders = Record<string, string | undefined>

export interface GatehouseClientOptions {
  /**
   * Where the Gatehouse server listens, without `/trpc`.
   * @example 'https://auth.example.com'
   */
  url: string | URL
  /**
   * Where the access/refresh pair is kept between calls.
   * @default memoryStorage()
   */
  storage?: TokenStorage
  /**
   * An API key (from `auth.tokens.obtain` or `auth.tokens.create`) for server-to-server use:
   * every call sends `Authorization: Token <key>`, nothing is stored, and a 401 is never
   * answered by a JWT refresh (a key does not expire the way an access token does). Not
   * combinable with `storage`.
   * @default undefined (JWT mode: the stored access token, refreshed when it expires)
   * @example process.env.GATEHOUSE_API_KEY
   */
  apiToken?: string
  /**
   * The `fetch` to send requests with (a wrapper that logs or counts them, a polyfill).
   * @default globalThis.fetch
   */
  fetch?: GatehouseFetch
  /**
   * Headers added to every request, or a function returning them for each request. An
   * `authorization` header given here replaces the stored access token.
   * @default {}
   */
  headers?: GatehouseHeaders | (() => GatehouseHeaders | Promise<GatehouseHeaders>)
  /**
   * Send calls made in the same tick as one HTTP request (tRPC's `httpBatchLink`), or each on its
   * own (`httpLink`).
   * @default true
   */
  batch?: boolean
}

/** A procedure as a plain async function: no argument when the procedure takes no input. */
type Call<TInput, TOutput> = [TInput] extends [void] ? () => Promise<TOutput> : (input: TInput) => Promise<TOutput>

type Calls<TRecord> = {
  [K in keyof TRecord]: TRecord[K] extends AnyTRPCProcedure
    ? Call<inferProcedureInput<TRecord[K]>, inferTransformedProcedureOutput<GatehouseRouter, TRecord[K]>>
    : Calls<TRecord[K]>
}

type ProcedureCalls = Calls<GatehouseRouter['_def']['record']>

/**
 * `client.auth`: the auth procedures, with the token-handling ones keeping storage up to date.
 * Function-valued properties, not methods: none uses `this`, so `const { login } = client.auth` works.
 */
export interface GatehouseAuth extends Omit<ProcedureCalls['auth'], 'login' | 'refresh' | 'logout' | 'me'> {
  /**
   * Logs in and stores the returned access/refresh pair.
   * @example
   * ```ts
   * const { user } = await client.auth.login({ username: 'alice', password: 'correct horse battery staple' })
   * ```
   */
  login: (input: GatehouseInputs['auth']['login']) => Promise<GatehouseOutputs['auth']['login']>
  /**
   * The caller and their grants. The answer also becomes the subject `client.can()` decides for;
   * a 401 makes that subject anonymous.
   * @example
   * ```ts
   * const { user, permissions } = await client.auth.me()
   * ```
   */
  me: () => Promise<GatehouseOutputs['auth']['me']>
  /**
   * Trades a refresh token for a new pair and stores it. Without an argument it spends the stored
   * refresh token, sharing one request with any refresh already in flight; with none stored it
   * rejects with `UNAUTHORIZED` / `NOT_AUTHENTICATED` without calling the server. If the server
   * refuses the stored token, storage is cleared.
   * @example
   * ```ts
   * await client.auth.refresh()
   * ```
   */
  refresh: (input?: GatehouseInputs['auth']['refresh']) => Promise<GatehouseOutputs['auth']['refresh']>
  /**
   * Blacklists the refresh token on the server (the stored one when no argument is given) and
   * clears storage. A token the server already refuses (expired, blacklisted, rotated) counts as
   * logged out, so this only rejects when the server could not be asked (network, 5xx); storage
   * is cleared even then.
   * @example
   * ```ts
   * await client.auth.logout()
   * ```
   */
  logout: (input?: GatehouseInputs['auth']['logout']) => Promise<GatehouseOutputs['auth']['logout']>
}

/**
 * What `createGatehouseClient` returns: every procedure by its server name, plus `trpc`, `can`
 * and `loadPermissions`.
 */
export interface GatehouseClient extends Omit<ProcedureCalls, 'auth' | 'trpc' | 'can' | 'loadPermissions'> {
  readonly auth: GatehouseAuth
  /**
   * May the logged-in user take `action` on `resource` (or on one object of it)? Decided here,
   * without a request, by the server's own rules (see `can`) for the subject the last
   * `auth.me()` or `loadPermissions()` returned. Until then, and after logout or a new login,
   * it answers for an anonymous caller.
   * @example
   * ```ts
   * await client.loadPermissions()
   * const { article } = await client.articles.get({ id })
   * const showEdit = client.can('change', 'article', article)
   * ```
   */
  can: (action: Action, resource: Resource, object?: AccessObject) => boolean
  /**
   * Calls `auth.me` and keeps the subject for `client.can()`; resolves with it. Logged out (or a
   * session the server no longer accepts), it resolves with the anonymous subject instead of
   * rejecting. Call it after login, and again after grants may have changed.
   * @example
   * ```ts
   * await client.auth.login({ username, password })
   * await client.loadPermissions()
   * ```
   */
  loadPermissions: () => Promise<Subject>
  /**
   * The raw tRPC client over the same links (access token, auto-refresh), for per-call options
   * such as an `AbortSignal`. Calls made through it do not store or clear tokens.
   * @example
   * ```ts
   * const { user } = await client.trpc.auth.me.query(undefined, { signal })
   * ```
   */
  readonly trpc: TRPCClient<GatehouseRouter>
}

/**
 * Creates a typed client for a Gatehouse server. Runs in browsers and in Node 20+ (global
 * `fetch`).
 *
 * @example
 * ```ts
 * import { createGatehouseClient, webStorage } from '@gatehouse/sdk'
 *
 * const client = createGatehouseClient({ url: 'https://auth.example.com', storage: webStorage() })
 * await client.auth.login({ username: 'alice', password: 'correct horse battery staple' })
 * const { message } = await client.content.protected() // refreshed behind the scenes when needed
 *
 * // Server to server, with an API key (Authorization: Token <key>):
 * const service = createGatehouseClient({ url: 'https://auth.example.com', apiToken: process.env.GATEHOUSE_API_KEY })
 * ```
 */
export function createGatehouseClient(opts: GatehouseClientOptions): GatehouseClient {
  if (!opts?.url) throw new TypeError('createGatehouseClient(): `url` is required, such as https://auth.example.com')
  const { apiToken } = opts
  if (apiToken !== undefined) {
    if (typeof apiToken !== 'string' || !/^\S+$/.test(apiToken)) {
      throw new TypeError(
        'createGatehouseClient(): `apiToken` must be a key without spaces, as auth.tokens.create returns it',
      )
    }
    if (opts.storage) throw new TypeError('createGatehouseClient(): give either `apiToken` or `storage`, not both')
  }
  const storage = opts.storage ?? memoryStorage()
  const url = `${String(opts.url).replace(/\/+$/, '')}/trpc`

  // Whose grants `can()` uses. `identity` moves on whenever the user may have changed (login,
  // logout, a refused refresh), so an auth.me answer that was already in flight then is dropped.
  let subject: Subject = ANONYMOUS_SUBJECT
  let identity = 0
  function forgetSubject() {
    identity += 1
    subject = ANONYMOUS_SUBJECT
  }

  const session = createSession({
    storage,
    exchange: (refresh) => untyped.mutation('auth.refresh', { refresh }),
    onClear: forgetSubject,
  })

  async function headersFor(ops: readonly Operation[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {}
    if (ops.some((op) => !TOKEN_PATHS.has(op.path))) {
      if (apiToken !== undefined) out.authorization = `Token ${apiToken}`
      else {
        const tokens = await session.tokens()
        if (tokens) out.authorization = `Bearer ${tokens.access}`
      }
    }
    const extra = typeof opts.headers === 'function' ? await opts.headers() : opts.headers
    for (const [name, value] of Object.entries(extra ?? {})) {
      // Lower-cased so that `Authorization` replaces ours instead of being sent beside it.
      if (value !== undefined) out[name.toLowerCase()] = value
    }
    return out
  }

  const transport =
    opts.batch === false
      ? httpLink<GatehouseRouter>({ url, fetch: opts.fetch, headers: ({ op }) => headersFor([op]) })
      : httpBatchLink<GatehouseRouter>({
          url,
          fetch: opts.fetch,
          maxURLLength: MAX_URL_LENGTH,
          headers: ({ opList }) => headersFor(opList),
        })

  // An API key is not refreshed: its 401 is the answer, so no refresh link in that mode.
  const refresh = refreshLink<GatehouseRouter>({
    generation: () => session.generation,
    refreshSince: (generation) => session.refreshSince(generation),
    skip: (path) => TOKEN_PATHS.has(path),
  })
  const trpc = createTRPCClient<GatehouseRouter>({
    links: apiToken === undefined ? [refresh, transport] : [transport],
  })
  const untyped = getUntypedClient(trpc)

  function call(path: ProcedurePath, input?: unknown): Promise<unknown> {
    return PROCEDURE_KINDS[path] === 'query' ? untyped.query(path, input) : untyped.mutation(path, input)
  }

  async function storeFrom(answer: unknown) {
    const tokens = toTokens(answer)
    if (tokens) await session.set(tokens)
  }

  async function me() {
    const asked = identity
    try {
      const answer = (await call('auth.me')) as GatehouseOutputs['auth']['me']
      if (asked === identity) subject = toSubject(answer)
      return answer
    } catch (error) {
      if (asked === identity && isUnauthorized(error)) forgetSubject()
      throw error
    }
  }

  const auth: Record<string, unknown> = {
    async login(input: unknown) {
      const answer = await call('auth.login', input)
      await storeFrom(answer)
      forgetSubject()
      return answer
    },
    me,
    async refresh(input?: { refresh: string }) {
      if (input === undefined) return session.refresh()
      const answer = await call('auth.refresh', input)
      await storeFrom(answer)
      return answer
    },
    async logout(input?: { refresh: string }) {
      // A refresh in flight is about to replace the stored token: log out the one it stores.
      await session.settled()
      const stored = await session.tokens()
      const refresh = input?.refresh ?? stored?.refresh
      const isStored = input === undefined || input.refresh === stored?.refresh
      try {
        if (refresh === undefined) return { ...LOGGED_OUT }
        return await call('auth.logout', { refresh })
      } catch (error) {
        // Already refused (expired, blacklisted, rotated): that session is over, which was the point.
        if (isUnauthorized(error)) return { ...LOGGED_OUT }
        throw error
      } finally {
        if (isStored) await session.clear()
      }
    },
  }

  const client: Record<string, unknown> = {
    trpc,
    can: (action: Action, resource: Resource, object?: AccessObject) => can(subject, action, resource, object),
    async loadPermissions() {
      try {
        await me()
      } catch (error) {
        if (!isUnauthorized(error)) throw error
      }
      return subject
    },
  }
  for (const path of Object.keys(PROCEDURE_KINDS) as ProcedurePath[]) {
    const segments = path.split('.')
    const name = segments.pop() ?? path
    let node = client
    for (const segment of segments) {
      node = (node[segment] ??= segment === 'auth' ? auth : {}) as Record<string, unknown>
    }
    node[name] ??= (input?: unknown) => call(path, input)
  }
  return client as unknown as GatehouseClient
}

function isUnauthorized(error: unknown): boolean {
  return isGatehouseError(error) && error.data.code === 'UNAUTHORIZED'
}
