/**
 * `Authorization: Token <key>`, DRF's TokenAuthentication with its messages, for the opaque API
 * tokens of tokens/api-token.ts. The keyword is matched case-insensitively, as DRF does.
 */
import type { AuthUser } from '../users/user.js'
import type { Authenticator, AuthRequest } from './authenticator.js'
import { AuthError } from '../errors.js'
import { splitAuthorization } from './authorization-header.js'

export interface TokenAuthenticatorOptions {
  /** Checks a key and loads its (active) user, or throws; the auth service's `authenticateApiToken`. */
  verify: (key: string) => Promise<AuthUser>
}

/**
 * @example
 * ```ts
 * const token = tokenAuthenticator({ verify: auth.authenticateApiToken })
 * ```
 */
export function tokenAuthenticator(opts: TokenAuthenticatorOptions): Authenticator {
  const isOurs = (request: AuthRequest) => splitAuthorization(request.authorization)?.scheme === 'token'
  return {
    scheme: 'token',
    challenge: 'Token',
    hasCredential: isOurs,
    async authenticate(request) {
      const header = splitAuthorization(request.authorization)
      if (header?.scheme !== 'token') return null
      const [key] = header.parts
      if (!key) throw new AuthError('API_TOKEN_HEADER_EMPTY')
      if (header.parts.length > 1) throw new AuthError('API_TOKEN_HEADER_SPACES')
      return opts.verify(key)
    },
  }
}
