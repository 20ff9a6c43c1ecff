/**
 * The client's public types: its options, the modes, and the shape of what
 * `createGatehouseClient` returns. Kept apart from the code that builds the client so that the
 * internals (the cookie transport, the service client) can name these types without importing
 * the client, and the client without importing them back.
 *
 * Type-only on purpose: this module imports nothing at run time and emits nothing but `export {}`.
 */
import type { HTTPBatchLinkOptions, TRPCClient } from '@trpc/client'
import type { AnyTRPCProcedure, inferProcedureInput, inferTransformedProcedureOutput } from '@trpc/server'
import type { CookieJar } from './cookies/cookie-jar.js'
import type { AccessObject, Action, Resource, Subject } from './permissions.js'
import type { GatehouseInputs, GatehouseOutputs, GatehouseRouter } from './router.js'
import type { TokenStorage } from './storage/token-storage.js'

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
export type GatehouseMode = 'jwt' | 'cookie' | 'sliding'

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
