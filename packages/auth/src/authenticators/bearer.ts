/**
 * `Authorization: Bearer <jwt>`, simplejwt's JWTAuthentication: another scheme or no header is
 * not ours (null); a Bearer header that is malformed or carries a bad token is a 401. An OAuth
 * access token (header `typ: at+jwt`) is not ours either: the `oauth` authenticator decides it.
 */
import type { AuthUser } from '../users/user.js'
import type { Authenticator, AuthRequest } from './authenticator.js'
import { AuthError } from '../errors.js'
import { splitAuthorization } from './authorization-header.js'
import { isOAuthAccessToken } from './oauth.js'

export interface BearerAuthenticatorOptions {
  /** Verifies an access token and loads its (active) user, or throws; the auth service's `authenticateAccessToken`. */
  verify: (token: string) => Promise<AuthUser>
}

/**
 * @example
 * ```ts
 * const bearer = bearerAuthenticator({ verify: auth.authenticateAccessToken })
 * ```
 */
export function bearerAuthenticator(opts: BearerAuthenticatorOptions): Authenticator {
  const isOurs = (request: AuthRequest) =>
    splitAuthorization(request.authorization)?.scheme === 'bearer' && !isOAuthAccessToken(request)
  return {
    scheme: 'bearer',
    challenge: 'Bearer realm="api"',
    hasCredential: isOurs,
    async authenticate(request) {
      const header = splitAuthorization(request.authorization)
      if (header?.scheme !== 'bearer' || isOAuthAccessToken(request)) return null
      const [token] = header.parts
      if (header.parts.length !== 1 || !token) throw new AuthError('AUTH_HEADER_INVALID')
      return opts.verify(token)
    },
  }
}
