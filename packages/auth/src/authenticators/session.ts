/**
 * The `sessionid` cookie, DRF's SessionAuthentication: no cookie is not ours (null); a cookie that
 * is unknown, wrong, malformed or expired is a 401 SESSION_INVALID whose response deletes it, so
 * a dead session never passes for anonymous and the client stops sending it. A request with an
 * unsafe method must then pass the CSRF checks (csrf/csrf.ts), a 403 otherwise, before the
 * session is touched.
 */
import type { AuthUser } from '../users/user.js'
import type { VerifiedSession } from '../sessions/service.js'
import type { Authenticator } from './authenticator.js'
import { enforceCsrf, ensureCsrfCookie } from '../csrf/csrf.js'
import { AuthError } from '../errors.js'
import { clearSessionCookie, presentedSessionKey, sessionCookie } from '../sessions/cookie.js'

/**
 * The WWW-Authenticate value of a 401 the session cookie causes. DRF's SessionAuthentication has
 * none (it answers 403); an unregistered scheme tells a client to log in again and never makes a
 * browser show its password dialog.
 */
export const SESSION_CHALLENGE = 'Session realm="api"'

export interface SessionAuthenticatorOptions {
  /** Checks a session key and loads its (active) user; the auth service's `authenticateSession`. */
  verify: (key: string) => Promise<VerifiedSession>
  /** The cookie's Max-Age when a use slides the session (SESSION_COOKIE_AGE). */
  ageSeconds: number
  /** CSRF_TRUSTED_ORIGINS, normalised. */
  trustedOrigins: readonly string[]
}

/**
 * @example
 * const session = sessionAuthenticator({ verify: auth.authenticateSession, ageSeconds: auth.sessionAgeSeconds, trustedOrigins: [] })
 */
export function sessionAuthenticator(opts: SessionAuthenticatorOptions): Authenticator {
  return {
    scheme: 'session',
    challenge: SESSION_CHALLENGE,
    hasCredential: (request) => presentedSessionKey(request.cookies) !== undefined,
    async authenticate(request): Promise<AuthUser | null> {
      const key = presentedSessionKey(request.cookies)
      if (key === undefined) return null
      let session: VerifiedSession
      try {
        session = await opts.verify(key)
      } catch (error) {
        if (error instanceof AuthError && error.code === 'SESSION_INVALID') {
          request.response?.setCookie(clearSessionCookie())
        }
        throw error
      }
      ensureCsrfCookie(request)
      enforceCsrf(request, opts.trustedOrigins)
      if (await session.touch()) request.response?.setCookie(sessionCookie(key, opts.ageSeconds))
      return session.user
    },
  }
}
