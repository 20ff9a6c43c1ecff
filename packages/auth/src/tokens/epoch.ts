/**
 * The per-user token epoch. Every access and sliding token carries the epoch its user had when it
 * was signed (`epoch` claim); authentication compares it with the users row it reads anyway, so
 * revoking all of a user's tokens is one UPDATE and costs no query per request. A password
 * change, deactivation, a role change and "log out everywhere" bump it.
 *
 * A bump alone does not end refresh tokens: after a role change the client refreshes and the new
 * access token carries the new epoch. What must end the login as well (password change,
 * deactivation, log out everywhere) also blacklists the user's refresh and sliding tokens.
 */
import type { Db } from '@gatehouse/db'

import type { VerifiedToken } from '../jwt/claims.js'
import type { AuthUser } from '../users/user.js'
import type { TokenSettings } from './settings.js'
import { AuthError } from '../errors.js'
import { verifyWith } from '../jwt/verify-with.js'
import { bumpTokenEpoch, deleteUserOAuthSessions, findTokenUser } from '../store/epoch.repository.js'
import { deleteUserSessions } from '../store/session.repository.js'
import { blacklistUserTokens } from '../store/token.repository.js'
import { toAuthUser } from '../users/user.js'

/** TOKEN_REVOKED unless the token carries the user's current epoch (a missing claim is 0). */
export function assertCurrentEpoch(verified: VerifiedToken, current: number): void {
  if ((verified.epoch ?? 0) !== current) throw new AuthError('TOKEN_REVOKED')
}

/**
 * Bearer authentication (simplejwt's AUTH_TOKEN_CLASSES = access and sliding): the token names
 * an existing, active user and carries their current epoch. A sliding token is also checked
 * against the blacklist (simplejwt's SlidingToken.verify does), in the same query as the user; an
 * access token never is, so the hot path stays one round trip with no blacklist lookup.
 */
export async function authenticateJwt(db: Db, s: TokenSettings, token: string): Promise<AuthUser> {
  return authenticateVerifiedJwt(db, await verifyWith(s, token, ['access', 'sliding']))
}

/** The database half of `authenticateJwt`, for a token whose signature and claims are checked. */
export async function authenticateVerifiedJwt(db: Db, verified: VerifiedToken): Promise<AuthUser> {
  const row = await findTokenUser(db, verified.userId, verified.tokenType === 'sliding' ? verified.jti : undefined)
  if (row?.blacklisted) throw new AuthError('TOKEN_BLACKLISTED')
  if (!row) throw new AuthError('USER_NOT_FOUND')
  if (!row.is_active) throw new AuthError('USER_INACTIVE')
  assertCurrentEpoch(verified, row.token_epoch)
  return toAuthUser(row, row.groups)
}

/**
 * Ends every login of the user at once: the epoch moves on (their access and sliding tokens stop
 * at their next request), every outstanding refresh and sliding token is blacklisted (none can be
 * refreshed back to life), and their server-side sessions and sign-ins at the OAuth server are
 * deleted. API keys (auth.tokens.revokeAll) and the grants of OAuth apps (auth.apps.revoke) are
 * not touched.
 */
export async function logoutEverywhere(db: Db, userId: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await bumpTokenEpoch(trx, userId)
    await blacklistUserTokens(trx, userId)
    await deleteUserSessions(trx, userId)
    await deleteUserOAuthSessions(trx, userId)
  })
}
