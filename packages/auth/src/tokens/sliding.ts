/**
 * Sliding tokens, simplejwt's SlidingToken: one token that authenticates (`Bearer`) and is also
 * refreshed, for clients that want no refresh token. A sliding token lives
 * SLIDING_TOKEN_LIFETIME (`exp`); refreshing it gives the same token (same jti, same
 * `refresh_exp`) with a new `iat` and `exp`. As in simplejwt, only a live token is refreshed:
 * refresh checks `exp` first (TOKEN_EXPIRED), then `refresh_exp`, which is fixed at obtain time
 * (SLIDING_TOKEN_REFRESH_LIFETIME; TOKEN_REFRESH_EXPIRED). So a client keeps its login by
 * refreshing before `exp`, and an expired token found in a log or a browser's history cannot be
 * revived. Because the jti never changes, blacklisting it (logout, password change, log out
 * everywhere) ends the whole chain.
 *
 * Each one is recorded in outstanding_tokens (token_type 'sliding', its own family, expiring at
 * `refresh_exp`) so it can be blacklisted and is pruned once it can no longer be refreshed.
 */
import type { RequestMeta } from '../audit/audit.js'
import type { VerifiedToken } from '../jwt/claims.js'
import type { LoginOptions, ServiceCore } from '../core.js'
import { epochSeconds } from '../clock.js'
import { AuthError } from '../errors.js'
import { newJti } from '../jwt/claims.js'
import { signToken } from '../jwt/sign.js'
import { verifyWith } from '../jwt/verify-with.js'
import { findSlidingToken, readTokenEpoch } from '../store/epoch.repository.js'
import { blacklistToken, insertOutstandingToken } from '../store/token.repository.js'

/**
 * A sliding token as auth.sliding.refresh (`allowExpired: false`) and auth.sliding.logout
 * (`allowExpired: true`) receive it: signed by us, within `refresh_exp`. `refresh_exp` is decided
 * from the signed token before any database read, so a token whose row was pruned after
 * `refresh_exp` still answers TOKEN_REFRESH_EXPIRED rather than TOKEN_INVALID.
 */
async function verifyRefreshable(
  core: ServiceCore,
  token: string,
  allowExpired: boolean,
): Promise<VerifiedToken & { refreshExpiresAt: Date }> {
  const verified = await verifyWith(core.tokens, token, { types: ['sliding'], allowExpired })
  const { refreshExpiresAt } = verified
  if (!refreshExpiresAt) throw new AuthError('TOKEN_INVALID')
  if (refreshExpiresAt.getTime() <= core.clock().getTime()) throw new AuthError('TOKEN_REFRESH_EXPIRED')
  return { ...verified, refreshExpiresAt }
}

async function findRecorded(core: ServiceCore, verified: VerifiedToken) {
  const row = await findSlidingToken(core.db, verified.jti)
  // Signed by us but never recorded (or pruned): not a token we will honour.
  if (!row || row.user_id !== verified.userId || row.token_type !== 'sliding') throw new AuthError('TOKEN_INVALID')
  return row
}

/**
 * @example
 * const { obtainSlidingToken } = slidingService(core)
 * const { token } = await obtainSlidingToken({ username, password }, ctx.meta)
 */
export function slidingService(core: ServiceCore) {
  const s = core.tokens

  async function sign(subject: { userId: number; jti: string; epoch: number; refreshExpiresAt: Date }, now: Date) {
    const { token } = await signToken(
      { ...subject, tokenType: 'sliding' },
      {
        keys: s.keys,
        clock: () => now,
        lifetimeSeconds: s.slidingTokenLifetimeSeconds,
        issuer: s.issuer,
        audience: s.audience,
      },
    )
    return token
  }

  return {
    /**
     * auth.sliding.obtain (simplejwt's TokenObtainSlidingView): a sliding token for a username and
     * password, checked by `checkLogin` like every credential exchange (same brute-force
     * protection, same audit rows, with `via: 'sliding'`).
     */
    async obtainSlidingToken(input: { username: string; password: string }, opts: LoginOptions = {}) {
      const user = await core.checkLogin(input, { ...opts, via: 'sliding' })
      const jti = newJti()
      const now = core.clock()
      const refreshExpiresAt = new Date((epochSeconds(now) + s.slidingTokenRefreshLifetimeSeconds) * 1000)
      const [epoch] = await Promise.all([
        readTokenEpoch(core.db, user.id),
        insertOutstandingToken(core.db, {
          jti,
          user_id: user.id,
          family_id: jti,
          token_type: 'sliding',
          expires_at: refreshExpiresAt,
        }),
      ])
      core.afterWrite()
      return { token: await sign({ userId: user.id, jti, epoch, refreshExpiresAt }, now) }
    },

    /**
     * auth.sliding.refresh (simplejwt's TokenRefreshSlidingView): the same token with a new `iat`
     * and `exp`, stamped with the user's current epoch, so after a role change the client
     * refreshes and carries on. A blacklisted token is never re-stamped: what ended the login
     * (logout, password change, deactivation, log out everywhere) blacklisted it. An expired token
     * is refused (TOKEN_EXPIRED) as simplejwt refuses it: `SlidingToken(token)` verifies `exp`
     * before the serializer looks at `refresh_exp`.
     */
    async refreshSlidingToken(token: string, meta: RequestMeta = {}) {
      const verified = await verifyRefreshable(core, token, false)
      const row = await findRecorded(core, verified)
      if (row.blacklisted) throw new AuthError('TOKEN_BLACKLISTED')
      if (!row.is_active) throw new AuthError('USER_INACTIVE')
      const refreshed = await sign(
        {
          userId: verified.userId,
          jti: verified.jti,
          epoch: row.token_epoch,
          refreshExpiresAt: verified.refreshExpiresAt,
        },
        core.clock(),
      )
      const who = { userId: verified.userId, username: row.username, ...meta }
      await core.audit({ event: 'token.refreshed', ...who, detail: { via: 'sliding', jti: verified.jti } })
      return { token: refreshed }
    },

    /**
     * auth.sliding.logout: blacklists the token (and with it every refresh of it). Idempotent.
     * Unlike refresh it accepts a token past `exp` (until `refresh_exp`): logging out revives
     * nothing, and a client back from a long idle can still end the login it holds.
     */
    async logoutSlidingToken(token: string, meta: RequestMeta = {}): Promise<void> {
      const verified = await verifyRefreshable(core, token, true)
      const row = await findRecorded(core, verified)
      await blacklistToken(core.db, verified.jti)
      const who = { userId: verified.userId, username: row.username, ...meta }
      await core.audit({ event: 'logout', ...who, detail: { via: 'sliding', jti: verified.jti } })
    },
  }
}
