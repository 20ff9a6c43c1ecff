/**
 * The `access` cookie: the JWT access token of a cookie login (`auth.login {cookies: true}`),
 * verified exactly as `Authorization: Bearer` is. It is read only when the request sends no
 * Authorization header, so a header always wins; a bad or expired token is a 401 (the client
 * refreshes through the `refresh` cookie), never anonymous. Unsafe methods must pass the CSRF
 * checks (csrf/csrf.ts).
 */
import type { AuthUser } from '../users/user.js'
import type { Authenticator, AuthRequest } from './authenticator.js'
import { enforceCsrf, ensureCsrfCookie } from '../csrf/csrf.js'

export const ACCESS_COOKIE = 'access'
export const REFRESH_COOKIE = 'refresh'

/** The WWW-Authenticate value of a 401 the access cookie causes; see SESSION_CHALLENGE. */
export const COOKIE_CHALLENGE = 'Cookie realm="api"'

export interface CookieAuthenticatorOptions {
  /** Verifies an access token and loads its (active) user; the auth service's `authenticateAccessToken`. */
  verify: (token: string) => Promise<AuthUser>
  /** CSRF_TRUSTED_ORIGINS, normalised. */
  trustedOrigins: readonly string[]
}

/** The access cookie a request presents, unless it sends an Authorization header (which wins). */
function presentedAccessToken(request: AuthRequest): string | undefined {
  if (request.authorization?.trim()) return undefined
  const value = request.cookies?.[ACCESS_COOKIE]
  return value ? value : undefined
}

/**
 * @example
 * const cookie = cookieAuthenticator({ verify: auth.authenticateAccessToken, trustedOrigins: [] })
 */
export function cookieAuthenticator(opts: CookieAuthenticatorOptions): Authenticator {
  return {
    scheme: 'cookie',
    challenge: COOKIE_CHALLENGE,
    hasCredential: (request) => presentedAccessToken(request) !== undefined,
    async authenticate(request) {
      const token = presentedAccessToken(request)
      if (token === undefined) return null
      const user = await opts.verify(token)
      ensureCsrfCookie(request)
      enforceCsrf(request, opts.trustedOrigins)
      return user
    },
  }
}
