/**
 * Refresh tokens: issue, rotate, revoke.
 *
 * Every refresh token is recorded in outstanding_tokens with the family of the login it descends
 * from. Rotation blacklists the presented token with one INSERT … ON CONFLICT DO NOTHING: of any
 * number of concurrent rotations of one token exactly one inserts the row and gets new tokens.
 *
 * A rotated token presented again within REFRESH_REUSE_INTERVAL (`refreshReuseIntervalSeconds`,
 * 10 s by default) of its rotation is two tabs of one browser refreshing one cookie at once, or a
 * retry after a lost response: it gets a sibling, a new refresh token of the same family, with an
 * access token of the current epoch (audited as `token.refreshed` with `grace: true`). Not the
 * winner's own new token: tokens are never stored (only their jti), so it cannot be handed out
 * again; a sibling is as good (same user, same family, revoked with it) and costs one signature.
 * Presented past the window, or once its login ended, it means two parties hold it (a thief and
 * the owner), so the whole family is revoked and the user's token epoch moves on, ending the
 * access tokens issued to the family (OAuth 2.0 Security BCP, refresh token reuse). The family's
 * row lock (token.repository.ts) keeps a rotation committing at the same moment from escaping.
 */
import type { Db } from '@gatehouse/db'

import type { AuditRecorder, RequestMeta } from '../audit/audit.js'
import type { VerifiedToken } from '../jwt/claims.js'
import type { AuthUser } from '../users/user.js'
import type { TokenPair, TokenSettings } from './settings.js'
import { AuthError } from '../errors.js'
import { newJti } from '../jwt/claims.js'
import { signToken } from '../jwt/sign.js'
import { verifyWith } from '../jwt/verify-with.js'
import {
  findOutstandingToken,
  insertOutstandingToken,
  isBlacklisted,
  lockLiveFamily,
  recordGraceSibling,
  revokeFamily,
  rotateRefreshRow,
} from '../store/token.repository.js'
import { findTokenUser, readTokenEpoch } from '../store/epoch.repository.js'
import { findUserWithGroups } from '../store/user.repository.js'
import { toAuthUser } from '../users/user.js'

/** A refresh token as auth.refresh and auth.logout receive it, with who presented it from where. */
export interface PresentedToken extends RequestMeta {
  token: string
  /** Where `token.refreshed`, `token.reuse_detected` and `logout` are recorded. */
  audit?: AuditRecorder | undefined
}

function signOptions(s: TokenSettings, lifetimeSeconds: number) {
  return { keys: s.keys, clock: s.clock, lifetimeSeconds, issuer: s.issuer, audience: s.audience }
}

/** An access token stamped with the user's token epoch (see epoch.ts). */
export async function signAccessToken(s: TokenSettings, userId: number, epoch: number): Promise<string> {
  const { token } = await signToken(
    { userId, tokenType: 'access', epoch },
    signOptions(s, s.accessTokenLifetimeSeconds),
  )
  return token
}

/** Signs a refresh token and records it as outstanding, in `familyId` or a new family. */
export async function issueRefreshToken(
  db: Db,
  s: TokenSettings,
  opts: { userId: number; familyId?: string },
): Promise<string> {
  const signed = await signToken(
    { userId: opts.userId, tokenType: 'refresh' },
    signOptions(s, s.refreshTokenLifetimeSeconds),
  )
  await insertOutstandingToken(db, {
    jti: signed.jti,
    user_id: opts.userId,
    family_id: opts.familyId ?? newJti(),
    token_type: 'refresh',
    expires_at: signed.expiresAt,
  })
  return signed.token
}

export async function issueTokenPair(db: Db, s: TokenSettings, userId: number): Promise<TokenPair> {
  // The epoch is read beside the refresh token's insert, so it adds no round trip to a login.
  const [epoch, refresh] = await Promise.all([readTokenEpoch(db, userId), issueRefreshToken(db, s, { userId })])
  return { access: await signAccessToken(s, userId, epoch), refresh }
}

function assertUsable(user: AuthUser | undefined): asserts user is AuthUser {
  if (!user) throw new AuthError('USER_NOT_FOUND')
  if (!user.isActive) throw new AuthError('USER_INACTIVE')
}

type RotationResult =
  | { reused: false; familyId: string; userId: number; epoch: number; refresh: string }
  | { reused: true; familyId: string; userId: number }

/**
 * The default rotation (rotate + blacklist) as one statement (`rotateRefreshRow`), with the same
 * answers; a loser gets a grace sibling (`recordGraceSibling`) or revokes the family.
 */
async function rotateInOneStatement(
  db: Db,
  s: TokenSettings,
  r: { verified: VerifiedToken; next: { jti: string; token: string; expiresAt: Date }; request: PresentedToken },
): Promise<RotationResult> {
  const { verified, next, request } = r
  const { audit } = request
  const meta = { address: request.address, userAgent: request.userAgent }
  const now = s.clock()
  const rotation = { jti: verified.jti, userId: verified.userId, next, now }
  const row = await rotateRefreshRow(db, {
    ...rotation,
    audit: audit?.row({ event: 'token.refreshed', userId: verified.userId, ...meta }),
  })
  // Signed by us but never recorded (or flushed): not a token we will honour.
  if (!row) throw new AuthError('TOKEN_INVALID')
  if (!row.user_found) throw new AuthError('USER_NOT_FOUND')
  if (!row.is_active) throw new AuthError('USER_INACTIVE')
  let won = row.won ? row : undefined
  if (!won && s.refreshReuseIntervalSeconds > 0) {
    // The winner has committed (the loser waited for its blacklist row), so this sees it.
    const sibling = await recordGraceSibling(db, {
      ...rotation,
      rotatedSince: new Date(now.getTime() - s.refreshReuseIntervalSeconds * 1000),
      audit: audit?.row({ event: 'token.refreshed', userId: verified.userId, ...meta, detail: { grace: true } }),
    })
    if (sibling?.won) won = sibling
  }
  if (won) {
    audit?.written()
    return {
      reused: false,
      familyId: won.family_id,
      userId: verified.userId,
      epoch: won.token_epoch ?? 0,
      refresh: next.token,
    }
  }
  const revoked = await revokeFamily(db, { familyId: row.family_id, userId: verified.userId, bumpEpoch: true })
  // Reported once, by the call that revoked it; a token of a login already ended is just refused.
  if (!revoked) throw new AuthError('TOKEN_BLACKLISTED')
  return { reused: true, familyId: row.family_id, userId: verified.userId }
}

/**
 * Exchanges a refresh token for a new access token and (with rotation) a new refresh token.
 * @example
 * const { access, refresh } = await rotateRefreshToken(db, settings, { token, audit, ...ctx.meta })
 */
export async function rotateRefreshToken(db: Db, s: TokenSettings, request: PresentedToken): Promise<TokenPair> {
  const presented = request.token
  const verified = await verifyWith(s, presented, ['refresh'])
  // Signing stays out of the transaction, so a connection is never held while the thread pool
  // signs: the next refresh token is signed before it (it needs only the user id, checked against
  // the row inside), the access token after it (it needs the epoch read inside). A rotation that
  // fails wastes one signature.
  const next = s.rotateRefreshTokens
    ? await signToken({ userId: verified.userId, tokenType: 'refresh' }, signOptions(s, s.refreshTokenLifetimeSeconds))
    : null
  // The default (rotate + blacklist) is one statement, which writes its own audit row; the other
  // two settings keep a transaction and record the row after it.
  const oneStatement = next !== null && s.blacklistAfterRotation
  const outcome =
    next && oneStatement
      ? await rotateInOneStatement(db, s, { verified, next, request })
      : await db.transaction().execute(async (trx) => {
          const row = await findOutstandingToken(trx, verified.jti)
          // Signed by us but never recorded (or flushed): not a token we will honour.
          if (!row || row.user_id !== verified.userId) throw new AuthError('TOKEN_INVALID')
          const found = await findUserWithGroups(trx, row.user_id)
          const user = found && toAuthUser(found, found.groups)
          assertUsable(user)
          // Read with the user, so a refresh after a role change carries the new epoch.
          const epoch = found?.token_epoch ?? 0
          // simplejwt checks the blacklist whenever its app is installed, BLACKLIST_AFTER_ROTATION
          // or not: a logged-out token does not refresh.
          if (await isBlacklisted(trx, row.jti)) return { reused: false as const, blacklisted: true as const }
          if (!next) {
            return { reused: false as const, familyId: row.family_id, userId: user.id, epoch, refresh: presented }
          }
          // Rotation without the blacklist (BLACKLIST_AFTER_ROTATION=false): the old token stays
          // valid. The family's lock keeps a logout at the same moment from missing the new one.
          const live = await lockLiveFamily(trx, {
            familyId: row.family_id,
            userId: user.id,
            expiresAt: next.expiresAt,
          })
          if (!live) return { reused: false as const, blacklisted: true as const }
          await insertOutstandingToken(trx, {
            jti: next.jti,
            user_id: user.id,
            family_id: row.family_id,
            token_type: 'refresh',
            expires_at: next.expiresAt,
          })
          return { reused: false as const, familyId: row.family_id, userId: user.id, epoch, refresh: next.token }
        })
  const meta = { address: request.address, userAgent: request.userAgent }
  // Thrown after the transaction so the family revocation above is committed, not rolled back.
  if (outcome.reused) {
    const { familyId, userId } = outcome
    await request.audit?.({ event: 'token.reuse_detected', userId, ...meta, detail: { familyId } })
    throw new AuthError('TOKEN_BLACKLISTED')
  }
  if ('blacklisted' in outcome) throw new AuthError('TOKEN_BLACKLISTED')
  const access = await signAccessToken(s, outcome.userId, outcome.epoch)
  if (!oneStatement) {
    const detail = { familyId: outcome.familyId }
    await request.audit?.({ event: 'token.refreshed', userId: verified.userId, ...meta, detail })
  }
  return { access, refresh: outcome.refresh }
}

/**
 * Logout: ends the login the refresh token belongs to, blacklisting every token of its family
 * (two tabs sharing a login may hold siblings of it). Idempotent for a login already ended.
 */
export async function revokeRefreshToken(db: Db, s: TokenSettings, request: PresentedToken): Promise<void> {
  const verified = await verifyWith(s, request.token, ['refresh'])
  const row = await findOutstandingToken(db, verified.jti)
  if (!row) throw new AuthError('TOKEN_INVALID')
  await revokeFamily(db, { familyId: row.family_id, userId: row.user_id, bumpEpoch: false })
  const meta = { address: request.address, userAgent: request.userAgent }
  await request.audit?.({ event: 'logout', userId: row.user_id, ...meta, detail: { familyId: row.family_id } })
}

/**
 * auth.verify: any token type; a blacklisted refresh or sliding token is not valid, nor is an
 * access or sliding token whose epoch is no longer its user's.
 */
export async function checkToken(db: Db, s: TokenSettings, token: string): Promise<VerifiedToken> {
  const verified = await verifyWith(s, token, ['access', 'refresh', 'sliding'])
  if (verified.tokenType === 'refresh') {
    if (await isBlacklisted(db, verified.jti)) throw new AuthError('TOKEN_BLACKLISTED')
    return verified
  }
  const row = await findTokenUser(db, verified.userId, verified.tokenType === 'sliding' ? verified.jti : undefined)
  if (row?.blacklisted) throw new AuthError('TOKEN_BLACKLISTED')
  // Like simplejwt's verify, a deleted or inactive user is not this endpoint's concern.
  if (row && (verified.epoch ?? 0) !== row.token_epoch) throw new AuthError('TOKEN_REVOKED')
  return verified
}
