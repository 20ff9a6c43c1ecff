/**
 * `createGatehouseClient`: the server's procedures as plain async functions, with the login held
 * the way the mode says (tokens in a storage adapter, or the server's cookies), sent on every
 * call, and refreshed when it expires.
 */
import type { AppRouter } from '@gatehouse/server'
import type { HTTPBatchLinkOptions, Operation, TRPCClient } from '@trpc/client'
import type { AnyTRPCProcedure, inferProcedureInput, inferTransformedProcedureOutput } from '@trpc/server'
import type { CookieJar } from './cookies/cookie-jar.js'
import type { GatehouseErrorReason } from './errors.js'
import type { Refresher } from './internal/session.js'
import type { AccessObject, Action, Resource, Subject } from './permissions.js'
import type { GatehouseInputs, GatehouseOutputs, GatehouseRouter, ProcedureKinds } from './router.js'
import type { TokenStorage } from './storage/token-storage.js'
import { createTRPCClient, getUntypedClient, httpBatchLink, httpLink, splitLink } from '@trpc/client'

import { memoryCookieJar } from './cookies/cookie-jar.js'
import { isAccessTokenStale, isGatehouseError } from './errors.js'
import { cookieTransport, hasBrowserCookies } from './internal/cookie-transport.js'
import { createCookieSession, createSession, isRejection } from './internal/session.js'
import { csrfRetryLink } from './links/csrf.js'
import { tokenAge } from './internal/token-age.js'
import { refreshLink } from './links/refresh.js'
import { ANONYMOUS_SUBJECT, can, toSubject } from './permissions.js'
import { memoryStorage } from './storage/memory.js'
import { toSlidingTokens, toTokens } from './storage/token-storage.js'

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
  'auth.logoutAll': 'mutation',
  'auth.verify': 'mutation',
  'auth.me': 'query',
  'auth.catalogue': 'query',
  'auth.tokens.obtain': 'mutation',
  'auth.tokens.create': 'mutation',
  'auth.tokens.list': 'query',
  'auth.tokens.revoke': 'mutation',
  'auth.tokens.revokeAll': 'mutation',
  'auth.tokens.register': 'mutation',
  'auth.sliding.obtain': 'mutation',
  'auth.sliding.refresh': 'mutation',
  'auth.sliding.logout': 'mutation',
  'auth.session.login': 'mutation',
  'auth.session.logout': 'mutation',
  'auth.session.list': 'query',
  'auth.session.revoke': 'mutation',
  'auth.session.revokeOthers': 'mutation',
  'auth.apps.list': 'query',
  'auth.apps.revoke': 'mutation',
  'content.protected': 'query',
  'content.admin': 'query',
  'content.manager': 'query',
  'content.hr': 'query',
  'content.scoped': 'query',
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
  'admin.audit.list': 'query',
  'admin.oauthClients.list': 'query',
  'admin.oauthClients.create': 'mutation',
  'admin.oauthClients.delete': 'mutation',
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
  'auth.tokens.register',
  'auth.sliding.obtain',
  'auth.sliding.refresh',
  'auth.sliding.logout',
  'auth.session.login',
  'auth.session.logout',
])

/**
 * In cookie mode, the two procedures the `refresh` cookie is sent to. Its paths are
 * `/trpc/auth.refresh` and `/trpc/auth.logout`, which a batch's URL never matches.
 */
const UNBATCHED_COOKIE_PATHS: ReadonlySet<string> = new Set<ProcedurePath>(['auth.refresh', 'auth.logout'])

const MODES = ['jwt', 'cookie', 'sliding'] as const

/**
 * How a client holds its login:
 * - `'jwt'`: the access/refresh pair of `auth.login`, in `storage`, sent as `Authorization:
 *   Bearer`, refreshed by `auth.refresh` when the access token expires;
 * - `'sliding'`: the one token of `auth.sliding.obtain`, in `storage` (as both `access` and
 *   `refresh`), sent as `Bearer`, refreshed in place by `auth.sliding.refresh` before its `exp`
 *   (the server refuses to refresh an expired one): a call made once the token is half through
 *   its life refreshes it first. A client idle past `exp` gets 401 `TOKEN_EXPIRED` and storage is
 *   cleared; once `refresh_exp` ends the chain, the refused refresh clears it and the call goes
 *   without a token;
 * - `'cookie'`: the server's cookies (`auth.login` with `cookies: true`, or `auth.session.login`),
 *   kept by the browser (or the `cookies` jar elsewhere); the SDK stores no token, sends
 *   `X-CSRFToken` on every mutation, and refreshes through the `refresh` cookie.
 */
export type GatehouseMode = (typeof MODES)[number]

// Longer batched GET URLs are split: some proxies and browsers refuse more than about 8 KB.
const MAX_URL_LENGTH = 4_000
/** The server refuses a batch of more calls than this (apps/server/src/http/server.ts, MAX_BATCH_SIZE). */
const MAX_BATCH_ITEMS = 100

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
   * How the client holds its login: `'jwt'` (an access/refresh pair in `storage`), `'sliding'`
   * (one sliding token in `storage`) or `'cookie'` (the server's cookies; nothing stored). See
   * `GatehouseMode`.
   * @default 'jwt'
   */
  mode?: GatehouseMode
  /**
   * Where the tokens are kept between calls (JWT and sliding modes).
   * @default memoryStorage()
   */
  storage?: TokenStorage
  /**
   * Cookie mode outside browsers: the jar that keeps the server's cookies. In a browser leave it
   * out and the browser keeps them (requests go with `credentials: 'include'`).
   * @default memoryCookieJar() outside browsers
   */
  cookies?: CookieJar
  /**
   * An API key (from `auth.tokens.obtain` or `auth.tokens.create`) for server-to-server use:
   * every call sends `Authorization: Token <key>`, nothing is stored, and a 401 is never
   * answered by a JWT refresh (a key does not expire the way an access token does). Not
   * combinable with `mode`, `storage` or `cookies`.
   * @default undefined (the `mode`'s login)
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
   * `authorization` header given here replaces the stored access token (and, in cookie mode,
   * wins over the cookies on the server); an `origin` replaces the one cookie mode sends outside
   * browsers (say, one of the server's CSRF_TRUSTED_ORIGINS).
   * @default {}
   */
  headers?: GatehouseHeaders | (() => GatehouseHeaders | Promise<GatehouseHeaders>)
  /**
   * Send calls made in the same tick as one HTTP request (tRPC's `httpBatchLink`), or each on its
   * own (`httpLink`).
   * @default true
   */
  batch?: boolean
  /**
   * The client's clock, in milliseconds since the epoch. Sliding mode measures a token's age on
   * it (from when this client received the token) to refresh before `exp`; give a corrected
   * clock if the device's is known to be off, or a fake one in tests.
   * @default Date.now
   */
  now?: () => number
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
 * `client.auth`: the auth procedures, with the ones that log in, refresh and log out keeping the
 * client's login up to date in its mode. Function-valued properties, not methods: none uses
 * `this`, so `const { login } = client.auth` works.
 */
export interface GatehouseAuth extends Omit<
  ProcedureCalls['auth'],
  'login' | 'refresh' | 'logout' | 'logoutAll' | 'me' | 'sliding' | 'session'
> {
  /**
   * Logs in. JWT mode stores the returned access/refresh pair; cookie mode sends `cookies: true`
   * and stores nothing (the server sets the `access`, `refresh` and `csrftoken` cookies); in
   * sliding mode it is an ordinary call (log in with `auth.sliding.obtain`).
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
   * Trades a refresh token for a new pair. Without an argument it spends the client's own,
   * sharing one request with any refresh already in flight: in JWT mode the stored token (none
   * stored: rejects with `UNAUTHORIZED` / `NOT_AUTHENTICATED` without calling the server; refused:
   * storage is cleared), in cookie mode the `refresh` cookie. Sliding mode has no refresh token:
   * there it rejects with a TypeError (use `auth.sliding.refresh()`). With a token, JWT mode stores
   * the new pair.
   * @example
   * ```ts
   * await client.auth.refresh()
   * ```
   */
  refresh: (input?: { refresh: string }) => Promise<GatehouseOutputs['auth']['refresh']>
  /**
   * Ends the client's login on the server and forgets it here, in every mode: JWT mode
   * blacklists the stored refresh token (or the one given) and clears storage; sliding mode does
   * what `auth.sliding.logout()` does; cookie mode ends the JWT cookies and the session and
   * clears the cookies (and the jar). A login the server already refuses (expired, blacklisted)
   * counts as logged out, so this only rejects when the server could not be asked (network,
   * 5xx) or refused the request itself (403); the client forgets its login even then.
   * @example
   * ```ts
   * await client.auth.logout()
   * ```
   */
  logout: (input?: { refresh: string }) => Promise<GatehouseOutputs['auth']['logout']>
  /**
   * Ends every login of the caller, everywhere (their tokens, sliding tokens and sessions; not
   * their API keys), then forgets this client's own: storage is cleared, or in cookie mode the
   * cookies.
   * @example
   * ```ts
   * await client.auth.logoutAll()
   * ```
   */
  logoutAll: () => Promise<GatehouseOutputs['auth']['logoutAll']>
  /** simplejwt's sliding tokens; the login of sliding mode. */
  sliding: GatehouseSliding
  /** Server-side sessions (the `sessionid` cookie); a login of cookie mode. */
  session: GatehouseSession
}

/** `client.auth.sliding`: sliding mode keeps its one token up to date through these. */
export interface GatehouseSliding extends Omit<ProcedureCalls['auth']['sliding'], 'refresh' | 'logout'> {
  /**
   * Trades a sliding token for a fresh one, before its `exp` (past it: 401 `TOKEN_EXPIRED`) and
   * its `refresh_exp` (past it: 401 `TOKEN_REFRESH_EXPIRED`). Sliding mode already does this
   * ahead of `exp` for any call made past half the token's life. Without an argument, sliding
   * mode spends the stored token, sharing one request with any refresh in flight, and clears
   * storage if the server refuses it; other modes reject with a TypeError. Sliding mode stores
   * the answer either way.
   * @example
   * ```ts
   * await client.auth.sliding.refresh()
   * ```
   */
  refresh: (input?: { token: string }) => Promise<GatehouseOutputs['auth']['sliding']['refresh']>
  /**
   * Blacklists a sliding token (the stored one when no argument is given, in sliding mode; other
   * modes reject with a TypeError) and clears storage when it was the stored one. A token the
   * server already refuses counts as logged out.
   * @example
   * ```ts
   * await client.auth.sliding.logout()
   * ```
   */
  logout: (input?: { token: string }) => Promise<GatehouseOutputs['auth']['sliding']['logout']>
}

/**
 * `client.auth.session`: the session procedures; `login` and `logout` also reset the subject
 * `client.can()` decides for.
 */
export type GatehouseSession = ProcedureCalls['auth']['session']

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
 * // The login in httpOnly cookies instead (a page served by the API's own origin):
 * const page = createGatehouseClient({ url: 'https://auth.example.com', mode: 'cookie' })
 *
 * // Server to server, with an API key (Authorization: Token <key>):
 * const service = createGatehouseClient({ url: 'https://auth.example.com', apiToken: process.env.GATEHOUSE_API_KEY })
 * ```
 */
export function createGatehouseClient(opts: GatehouseClientOptions): GatehouseClient {
  return buildClient(opts)
}

/**
 * Where a client's `Authorization` comes from when something other than a login holds it (the
 * service client's client-credentials tokens): sent on every call but the token endpoints, and
 * renewed through the same single-flight refresher when a call finds it expired.
 */
export interface BearerSource extends Refresher {
  /** The `Authorization` value for the next call (renewed first when it is about to expire). */
  authorization(): Promise<string>
}

/** createGatehouseClient, with the credentials optionally held by `bearer` instead of a login. */
export function buildClient(opts: GatehouseClientOptions, bearer?: BearerSource): GatehouseClient {
  if (!opts?.url) throw new TypeError('createGatehouseClient(): `url` is required, such as https://auth.example.com')
  const { apiToken } = opts
  const mode = opts.mode ?? 'jwt'
  if (!(MODES as readonly unknown[]).includes(mode)) {
    throw new TypeError(
      `createGatehouseClient(): \`mode\` is 'jwt', 'cookie' or 'sliding', not ${JSON.stringify(mode)}`,
    )
  }
  if (apiToken !== undefined) {
    if (typeof apiToken !== 'string' || !/^\S+$/.test(apiToken)) {
      throw new TypeError(
        'createGatehouseClient(): `apiToken` must be a key without spaces, as auth.tokens.create returns it',
      )
    }
    if (opts.storage) throw new TypeError('createGatehouseClient(): give either `apiToken` or `storage`, not both')
    if (opts.mode !== undefined) {
      throw new TypeError('createGatehouseClient(): give either `apiToken` or `mode`, not both (a key is its own mode)')
    }
  }
  if (mode === 'cookie' && opts.storage) {
    throw new TypeError(
      "createGatehouseClient(): mode 'cookie' stores no token (cookies hold the login): drop `storage`",
    )
  }
  if (mode !== 'cookie' && opts.cookies) {
    throw new TypeError("createGatehouseClient(): `cookies` is a jar for mode 'cookie' only")
  }
  const storage = opts.storage ?? memoryStorage()
  const url = `${String(opts.url).replace(/\/+$/, '')}/trpc`
  const now = opts.now ?? Date.now

  // Whose grants `can()` uses. `identity` moves on whenever the user may have changed (login,
  // logout, a refused refresh), so an auth.me answer that was already in flight then is dropped.
  let subject: Subject = ANONYMOUS_SUBJECT
  let identity = 0
  function forgetSubject() {
    identity += 1
    subject = ANONYMOUS_SUBJECT
  }

  const cookies =
    mode === 'cookie'
      ? cookieTransport({
          url,
          // Called as a plain function: a browser's fetch refuses to run as a method of another object.
          fetch: opts.fetch ?? ((input, init) => globalThis.fetch(input, init)),
          jar: opts.cookies ?? (hasBrowserCookies() ? undefined : memoryCookieJar()),
        })
      : undefined

  const session = createSession({
    storage,
    path: mode === 'sliding' ? 'auth.sliding.refresh' : 'auth.refresh',
    exchange: (refresh) =>
      mode === 'sliding'
        ? untyped.mutation('auth.sliding.refresh', { token: refresh })
        : untyped.mutation('auth.refresh', { refresh }),
    tokensOf: mode === 'sliding' ? toSlidingTokens : toTokens,
    onClear: forgetSubject,
    now,
  })
  const cookieSession = createCookieSession({
    // `{}`, not no input: the procedure takes an object, whose `refresh` the cookie stands in for.
    exchange: () => untyped.mutation('auth.refresh', {}),
    onRejected() {
      cookies?.refreshRefused()
      forgetSubject()
    },
  })
  const refresher: Refresher = cookies ? cookieSession : session

  async function headersFor(ops: readonly Operation[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {}
    // Cookie mode sends no Authorization: on the server a header always wins over the cookies.
    if (!cookies && ops.some((op) => !TOKEN_PATHS.has(op.path))) {
      if (bearer) out.authorization = await bearer.authorization()
      else if (apiToken !== undefined) out.authorization = `Token ${apiToken}`
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

  const fetch = cookies?.fetch ?? opts.fetch
  const single = () => httpLink<GatehouseRouter>({ url, fetch, headers: ({ op }) => headersFor([op]) })
  const batched = () =>
    httpBatchLink<GatehouseRouter>({
      url,
      fetch,
      maxURLLength: MAX_URL_LENGTH,
      maxItems: MAX_BATCH_ITEMS,
      headers: ({ opList }) => headersFor(opList),
    })
  const transport =
    opts.batch === false
      ? single()
      : cookies
        ? splitLink<GatehouseRouter>({
            condition: (op) => UNBATCHED_COOKIE_PATHS.has(op.path),
            true: single(),
            false: batched(),
          })
        : batched()

  /** Whether a failed call is worth a refresh, then a retry. */
  function shouldRefresh(error: unknown): boolean {
    if (isAccessTokenStale(error)) return true
    // The access cookie lives as long as its token, so once the token expires the cookie is
    // usually gone too and the call arrives anonymous: refresh then too, if a refresh cookie may
    // be there.
    return cookies !== undefined && reasonOf(error) === 'NOT_AUTHENTICATED' && cookies.mayRefresh()
  }

  /** Whether a failed call sent at `sentAt` may be sent again, and with what (see refreshLink). */
  async function recover(error: unknown, sentAt: number): Promise<boolean> {
    // An expired sliding token is past refreshing (the server checks `exp` first) and a
    // blacklisted one is dead: forget it without asking the server to refuse a refresh too.
    // TOKEN_REVOKED (a role change) is a live token the server re-stamps: refreshed below.
    if (bearer) {
      if (!isAccessTokenStale(error)) return false
      await bearer.refreshSince(sentAt)
      return true
    }
    const reason = reasonOf(error)
    if (mode === 'sliding' && (reason === 'TOKEN_EXPIRED' || reason === 'TOKEN_BLACKLISTED')) {
      return session.discardSince(sentAt)
    }
    if (!shouldRefresh(error)) return false
    await refresher.refreshSince(sentAt)
    return true
  }

  // Sliding mode refreshes ahead: the server refuses to refresh a token past its `exp`, so a call
  // made once the stored token is half through its life refreshes it first. Concurrent calls
  // share one look at storage, and so one refresh.
  let aheadCheck: Promise<void> | undefined
  async function refreshIfHalfway() {
    const tokens = await session.tokens()
    if (!tokens) return
    const age = tokenAge(tokens.access, { receivedAt: session.receivedAt(tokens.access), now: now() })
    // Unreadable, young, or already expired (a refresh would be refused): the server judges the call.
    if (!age || age.elapsedMs * 2 < age.lifetimeMs || age.elapsedMs >= age.lifetimeMs) return
    // Failed, the call goes with what storage holds then: the same token, or (refused, which
    // clears storage) none.
    await session.refresh().catch(() => undefined)
  }
  const refresh = refreshLink<GatehouseRouter>({
    generation: () => (bearer ?? refresher).generation,
    recover,
    skip: (path) => TOKEN_PATHS.has(path),
    beforeSend:
      mode === 'sliding' && !bearer
        ? () =>
            (aheadCheck ??= refreshIfHalfway().finally(() => {
              aheadCheck = undefined
            }))
        : undefined,
  })
  // An API key is not refreshed: its 401 is the answer, so no refresh link in that mode.
  const links =
    apiToken !== undefined
      ? [transport]
      : cookies
        ? [refresh, csrfRetryLink<GatehouseRouter>({ hasToken: () => cookies.hasCsrfToken() }), transport]
        : [refresh, transport]
  const trpc = createTRPCClient<GatehouseRouter>({ links })
  const untyped = getUntypedClient(trpc)

  function call(path: ProcedurePath, input?: unknown): Promise<unknown> {
    return PROCEDURE_KINDS[path] === 'query' ? untyped.query(path, input) : untyped.mutation(path, input)
  }

  async function storeFrom(answer: unknown) {
    const tokens = mode === 'sliding' ? toSlidingTokens(answer) : toTokens(answer)
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

  /** A cookie login answered: a call that failed before it retries without a refresh; can() forgets the user. */
  function cookiesArrived(jwt: boolean) {
    cookies?.loggedIn(jwt)
    cookieSession.changed()
    forgetSubject()
  }

  /** Logs out the stored token (or `given`), and clears storage when it was the stored one. */
  async function logOutStored(path: 'auth.logout' | 'auth.sliding.logout', given: string | undefined) {
    // A refresh in flight is about to replace the stored token: log out the one it stores.
    await session.settled()
    const stored = (await session.tokens())?.refresh
    const token = given ?? stored
    const isStored = given === undefined || given === stored
    try {
      if (token === undefined) return { ...LOGGED_OUT }
      return await call(path, path === 'auth.logout' ? { refresh: token } : { token })
    } catch (error) {
      // Already refused (expired, blacklisted, rotated): that login is over, which was the point.
      if (isUnauthorized(error)) return { ...LOGGED_OUT }
      throw error
    } finally {
      if (isStored) await session.clear()
    }
  }

  /** Ends the JWT cookies and the session, whichever the client holds: a browser cannot tell. */
  async function logOutCookies() {
    await cookieSession.settled()
    try {
      const outcomes = await Promise.allSettled([
        untyped.mutation('auth.logout', {}),
        untyped.mutation('auth.session.logout', undefined),
      ])
      for (const outcome of outcomes) {
        // A refused call (an older server's 400 without a cookie, a dead session's 401): that login was over.
        if (outcome.status === 'rejected' && !isRejection(outcome.reason)) throw asError(outcome.reason)
      }
      return { ...LOGGED_OUT }
    } finally {
      cookies?.loggedOut()
      cookieSession.changed()
      forgetSubject()
    }
  }

  const sliding: Record<string, unknown> = {
    async obtain(input: unknown) {
      const answer = await call('auth.sliding.obtain', input)
      if (mode === 'sliding') {
        await storeFrom(answer)
        forgetSubject()
      }
      return answer
    },
    async refresh(input?: { token: string }) {
      if (input === undefined) {
        if (mode !== 'sliding') throw wrongMode('auth.sliding.refresh()', mode)
        return session.refresh()
      }
      const answer = await call('auth.sliding.refresh', input)
      if (mode === 'sliding') await storeFrom(answer)
      return answer
    },
    async logout(input?: { token: string }) {
      if (input === undefined && mode !== 'sliding') throw wrongMode('auth.sliding.logout()', mode)
      return logOutStored('auth.sliding.logout', input?.token)
    },
  }

  const sessions: Record<string, unknown> = {
    async login(input: unknown) {
      const answer = await call('auth.session.login', input)
      cookiesArrived(false)
      return answer
    },
    async logout() {
      try {
        return await call('auth.session.logout')
      } finally {
        cookieSession.changed()
        forgetSubject()
      }
    },
  }

  const auth: Record<string, unknown> = {
    async login(input: GatehouseInputs['auth']['login']) {
      if (cookies) {
        const answer = await call('auth.login', { ...input, cookies: true })
        cookiesArrived(true)
        return answer
      }
      const answer = await call('auth.login', input)
      if (mode === 'jwt') {
        await storeFrom(answer)
        forgetSubject()
      }
      return answer
    },
    me,
    async refresh(input?: { refresh: string }) {
      if (input !== undefined) {
        const answer = await call('auth.refresh', input)
        if (mode === 'jwt') await storeFrom(answer)
        return answer
      }
      if (mode === 'sliding') {
        throw new TypeError('auth.refresh(): sliding mode holds no refresh token; call auth.sliding.refresh()')
      }
      return refresher.refresh()
    },
    logout(input?: { refresh: string }) {
      if (input === undefined && mode === 'sliding') return logOutStored('auth.sliding.logout', undefined)
      if (input === undefined && cookies) return logOutCookies()
      return logOutStored('auth.logout', input?.refresh)
    },
    async logoutAll() {
      const answer = await call('auth.logoutAll')
      // Every login of the user is dead now, this one included: forget it here too.
      if (cookies) {
        // Best effort: the logout everywhere succeeded; this only has the server clear the cookies.
        await logOutCookies().catch(() => undefined)
      } else await session.clear()
      return answer
    },
    sliding,
    session: sessions,
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

function reasonOf(error: unknown): GatehouseErrorReason | undefined {
  return isGatehouseError(error) ? error.data.reason : undefined
}

/** A call that spends the stored sliding token, made in a mode that stores none. */
function wrongMode(call: string, mode: GatehouseMode): TypeError {
  return new TypeError(
    `${call}: only sliding mode stores a sliding token (this client is in ${mode} mode); pass { token }`,
  )
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}
