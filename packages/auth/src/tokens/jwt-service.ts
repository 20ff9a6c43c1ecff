/**
 * JWTs, simplejwt's pair: auth.login's access and refresh tokens, their refresh (tokens/refresh.ts,
 * with rotation and reuse detection), logout, auth.verify, Bearer authentication through this
 * process's cache, and logging out everywhere (tokens/epoch.ts).
 */
import type { RequestMeta } from '../audit/audit.js'
import type { LoginOptions, ServiceCore } from '../core.js'
import type { VerifiedToken } from '../jwt/claims.js'
import type { AuthUser, PublicUser } from '../users/user.js'
import type { TokenPair } from './settings.js'
import { AuthError } from '../errors.js'
import { verifyWith } from '../jwt/verify-with.js'
import { toPublicUser } from '../users/user.js'
import { assertCurrentEpoch, authenticateJwt, authenticateVerifiedJwt, logoutEverywhere } from './epoch.js'
import { checkToken, issueTokenPair, revokeRefreshToken, rotateRefreshToken } from './refresh.js'

/**
 * The JWT operations, spread into the auth service.
 * @example
 * const { access, refresh, user } = await auth.login({ username, password }, ctx.meta)
 */
export function jwtService(core: ServiceCore) {
  const { db, tokens, cache, audit } = core

  return {
    /**
     * auth.login: a JWT pair for a username and password. The check is `checkLogin`'s: the same
     * answer and work for every kind of failure, with brute-force protection.
     */
    async login(
      input: { username: string; password: string },
      opts: LoginOptions = {},
    ): Promise<TokenPair & { user: PublicUser }> {
      const user = await core.checkLogin(input, opts)
      const pair = await issueTokenPair(db, tokens, user.id)
      return { ...pair, user: toPublicUser(user) }
    },

    async refresh(refresh: string, meta: RequestMeta = {}) {
      const pair = await rotateRefreshToken(db, tokens, { token: refresh, audit, ...meta })
      core.afterWrite()
      return pair
    },

    logout: (refresh: string, meta: RequestMeta = {}) =>
      revokeRefreshToken(db, tokens, { token: refresh, audit, ...meta }),

    verify: (token: string): Promise<VerifiedToken> => checkToken(db, tokens, token),

    /**
     * Bearer authentication: an access or sliding token names an active user and carries their
     * current token epoch, or this throws (see tokens/epoch.ts). One query per request.
     */
    async authenticateAccessToken(token: string): Promise<AuthUser> {
      if (!cache) return authenticateJwt(db, tokens, token)
      let verified = cache.token(token)
      if (!verified) {
        const ticket = cache.ticket()
        verified = await verifyWith(tokens, token, ['access', 'sliding'])
        // A sliding token is checked against the blacklist on every use: never cached.
        if (verified.tokenType !== 'access') return authenticateVerifiedJwt(db, verified)
        cache.putToken(token, verified, ticket)
      }
      const entry = await core.cachedUser(verified.userId)
      if (!entry) throw new AuthError('USER_NOT_FOUND')
      if (!entry.user.isActive) throw new AuthError('USER_INACTIVE')
      assertCurrentEpoch(verified, entry.epoch)
      return entry.user
    },

    /**
     * auth.logoutAll: the user's access and sliding tokens stop at their next request, their
     * refresh and sliding tokens are blacklisted and their sessions deleted. API keys stay.
     */
    async logoutAll(user: { id: number; username: string }, meta: RequestMeta = {}): Promise<void> {
      await logoutEverywhere(db, user.id)
      await audit({ event: 'logout.everywhere', userId: user.id, username: user.username, ...meta })
    },
  }
}
