/**
 * `client.auth`'s procedures that change the login, each doing what the client's mode needs:
 * storing or clearing tokens (jwt, sliding), telling the cookie transport (cookie), and making
 * `can()` forget the user whenever they may have changed. A logout the server refuses because
 * the login is already over (expired, blacklisted) counts as done: that was its point.
 *
 * None of these uses `this`, so `const { login } = client.auth` works (see GatehouseAuth).
 */
import type { GatehouseInputs, GatehouseOutputs } from '../router.js'
import type { GatehouseMode } from '../types.js'
import type { CookieTransport } from './cookie-transport.js'
import type { Credentials } from './credentials.js'
import type { PermissionsCache } from './permissions-cache.js'
import type { CallProcedure } from './procedures.js'
import { isUnauthorized } from '../errors.js'
import { toSlidingTokens, toTokens } from '../storage/token-storage.js'
import { isRejection } from './session.js'

const LOGGED_OUT = { detail: 'Successfully logged out.' } as const satisfies GatehouseOutputs['auth']['logout']

export interface ModeAuthOptions {
  mode: GatehouseMode
  /** Cookie mode's transport; undefined in the other modes. */
  cookies: CookieTransport | undefined
  credentials: Pick<Credentials, 'session' | 'cookieSession' | 'refresher'>
  permissions: Pick<PermissionsCache, 'forget' | 'me'>
  call: CallProcedure
}

/**
 * `client.auth`'s own procedures (login, me, refresh, logout, logoutAll, and those of `sliding`
 * and `session` that hold the login); the client adds the other auth procedures as plain calls.
 *
 * @example
 * const auth = createModeAuth({ mode, cookies, credentials, permissions, call })
 */
export function createModeAuth(opts: ModeAuthOptions): Record<string, unknown> {
  const { mode, cookies, permissions, call } = opts
  const { session, cookieSession, refresher } = opts.credentials

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
  return auth
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
