/**
 * `createGatehouseClient`: the server's procedures as plain async functions, with the login held
 * the way the mode says (tokens in a storage adapter, or the server's cookies), sent on every
 * call, and refreshed when it expires.
 */
import type { ProcedurePath } from './internal/procedures.js'
import type { BearerSource } from './internal/session.js'
import type { GatehouseInputs, GatehouseOutputs, GatehouseRouter } from './router.js'
import type { GatehouseClient, GatehouseClientOptions, GatehouseMode } from './types.js'
import { createTRPCClient, getUntypedClient } from '@trpc/client'

import { memoryCookieJar } from './cookies/cookie-jar.js'
import { isUnauthorized } from './errors.js'
import { cookieTransport, hasBrowserCookies } from './internal/cookie-transport.js'
import { holdCredentials } from './internal/credentials.js'
import { checkOptions } from './internal/options.js'
import { createPermissionsCache } from './internal/permissions-cache.js'
import { PROCEDURE_KINDS, procedureCaller } from './internal/procedures.js'
import { isRejection } from './internal/session.js'
import { clientLinks } from './internal/transport.js'
import { toSlidingTokens, toTokens } from './storage/token-storage.js'

const LOGGED_OUT = { detail: 'Successfully logged out.' } as const satisfies GatehouseOutputs['auth']['logout']

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

/** createGatehouseClient, with the credentials optionally held by `bearer` instead of a login. */
export function buildClient(opts: GatehouseClientOptions, bearer?: BearerSource): GatehouseClient {
  const { url, mode, apiToken, storage, now } = checkOptions(opts)

  // auth.me goes through the client's own links, which exist only further down.
  const permissions = createPermissionsCache(() => call('auth.me'))

  const cookies =
    mode === 'cookie'
      ? cookieTransport({
          url,
          // Called as a plain function: a browser's fetch refuses to run as a method of another object.
          fetch: opts.fetch ?? ((input, init) => globalThis.fetch(input, init)),
          jar: opts.cookies ?? (hasBrowserCookies() ? undefined : memoryCookieJar()),
        })
      : undefined

  // The refresh exchanges go out through the links they are part of, which exist only further
  // down: `call` is bound late.
  const credentials = holdCredentials({
    mode,
    apiToken,
    storage,
    now,
    bearer,
    cookies,
    call: (path, input) => call(path, input),
    onForget: permissions.forget,
  })
  const { session, cookieSession, refresher } = credentials
  const links = clientLinks({
    url,
    fetch: opts.fetch,
    headers: opts.headers,
    batch: opts.batch,
    cookies,
    credentials,
  })
  const trpc = createTRPCClient<GatehouseRouter>({ links })
  const call = procedureCaller(getUntypedClient(trpc))

  async function storeFrom(answer: unknown) {
    const tokens = mode === 'sliding' ? toSlidingTokens(answer) : toTokens(answer)
    if (tokens) await session.set(tokens)
  }

  /** A cookie login answered: a call that failed before it retries without a refresh; can() forgets the user. */
  function cookiesArrived(jwt: boolean) {
    cookies?.loggedIn(jwt)
    cookieSession.changed()
    permissions.forget()
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
      const outcomes = await Promise.allSettled([call('auth.logout', {}), call('auth.session.logout')])
      for (const outcome of outcomes) {
        // A refused call (an older server's 400 without a cookie, a dead session's 401): that login was over.
        if (outcome.status === 'rejected' && !isRejection(outcome.reason)) throw asError(outcome.reason)
      }
      return { ...LOGGED_OUT }
    } finally {
      cookies?.loggedOut()
      cookieSession.changed()
      permissions.forget()
    }
  }

  const sliding: Record<string, unknown> = {
    async obtain(input: unknown) {
      const answer = await call('auth.sliding.obtain', input)
      if (mode === 'sliding') {
        await storeFrom(answer)
        permissions.forget()
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
        permissions.forget()
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
        permissions.forget()
      }
      return answer
    },
    me: permissions.me,
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
    can: permissions.can,
    loadPermissions: permissions.loadPermissions,
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

/** A call that spends the stored sliding token, made in a mode that stores none. */
function wrongMode(call: string, mode: GatehouseMode): TypeError {
  return new TypeError(
    `${call}: only sliding mode stores a sliding token (this client is in ${mode} mode); pass { token }`,
  )
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}
