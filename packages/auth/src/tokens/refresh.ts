/**
 * Refresh tokens: issue, rotate, revoke.
 *
 * Every refresh token is recorded in outstanding_tokens with the family of the login it descends
 * from. Rotation blacklists the presented token with one INSERT … ON CONFLICT DO NOTHING: of any
 * number of concurrent rotations of one token exactly one inserts the row and gets new tokens.
 * A token that is presented again after it was rotated means two parties hold it (a thief and the
 * owner), so the whole family is blacklisted (OAuth 2.0 Security BCP, refresh token reuse).
 * Concurrent retries by one honest client look the same; the SDK refreshes single-flight.
 */
import type { Db } from '@gatehouse/db'

import type { Clock } from '../clock.js'
import type { KeyRing } from '../jwt/keys.js'
import type { VerifiedToken } from '../jwt/claims.js'
import type { AuthUser } from '../users/user.js'
import { AuthError } from '../errors.js'
import { newJti } from '../jwt/claims.js'
import { signToken } from '../jwt/sign.js'
import { verifyToken } from '../jwt/verify.js'
import {
  blacklistFamily,
  blacklistToken,
  findOutstandingToken,
  insertOutstandingToken,
  isBlacklisted,
} from '../store/token.repository.js'
import { findUserWithGroups } from '../store/user.repository.js'
import { toAuthUser } from '../users/user.js'

export interface TokenSettings {
  keys: KeyRing
  clock: Clock
  accessTokenLifetimeSeconds: number
  refreshTokenLifetimeSeconds: number
  rotateRefreshTokens: boolean
  blacklistAfterRotation: boolean
  issuer?: string | undefined
  audience?: string | undefined
}

export interface TokenPair {
  access: string
  refresh: string
}

function signOptions(s: TokenSettings, lifetimeSeconds: number) {
  return { keys: s.keys, clock: s.clock, lifetimeSeconds, issuer: s.issuer, audience: s.audience }
}

export async function verifyWith(s: TokenSettings, token: string, expectedTypes: VerifiedToken['tokenType'][]) {
  return verifyToken(token, {
    keys: s.keys,
    clock: s.clock,
    expectedTypes,
    issuer: s.issuer,
    audience: s.audience,
  })
}

export async function signAccessToken(s: TokenSettings, userId: number): Promise<string> {
  const { token } = await signToken({ userId, tokenType: 'access' }, signOptions(s, s.accessTokenLifetimeSeconds))
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
  const [access, refresh] = await Promise.all([signAccessToken(s, userId), issueRefreshToken(db, s, { userId })])
  return { access, refresh }
}

function assertUsable(user: AuthUser | undefined): asserts user is AuthUser {
  if (!user) throw new AuthError('USER_NOT_FOUND')
  if (!user.isActive) throw new AuthError('USER_INACTIVE')
}

/**
 * Exchanges a refresh token for a new access token and (with rotation) a new refresh token.
 * @example
 * const { access, refresh } = await rotateRefreshToken(db, settings, presented)
 */
export async function rotateRefreshToken(db: Db, s: TokenSettings, presented: string): Promise<TokenPair> {
  const verified = await verifyWith(s, presented, ['refresh'])
  const outcome = await db.transaction().execute(async (trx) => {
    const row = await findOutstandingToken(trx, verified.jti)
    // Signed by us but never recorded (or flushed): not a token we will honour.
    if (!row || row.user_id !== verified.userId) throw new AuthError('TOKEN_INVALID')
    const found = await findUserWithGroups(trx, row.user_id)
    const user = found && toAuthUser(found, found.groups)
    assertUsable(user)
    if (!s.rotateRefreshTokens) {
      if (await isBlacklisted(trx, row.jti)) return { reused: false as const, blacklisted: true as const }
      return { reused: false as const, pair: { access: await signAccessToken(s, user.id), refresh: presented } }
    }
    if (s.blacklistAfterRotation) {
      const won = await blacklistToken(trx, row.jti)
      if (!won) {
        await blacklistFamily(trx, row.family_id)
        return { reused: true as const }
      }
    }
    const [access, refresh] = await Promise.all([
      signAccessToken(s, user.id),
      issueRefreshToken(trx, s, { userId: user.id, familyId: row.family_id }),
    ])
    return { reused: false as const, pair: { access, refresh } }
  })
  // Thrown after the transaction so the family revocation above is committed, not rolled back.
  if (outcome.reused) throw new AuthError('TOKEN_BLACKLISTED')
  if ('blacklisted' in outcome) throw new AuthError('TOKEN_BLACKLISTED')
  return outcome.pair
}

/** Logout: blacklists the refresh token. Idempotent for a token already blacklisted. */
export async function revokeRefreshToken(db: Db, s: TokenSettings, presented: string): Promise<void> {
  const verified = await verifyWith(s, presented, ['refresh'])
  const row = await findOutstandingToken(db, verified.jti)
  if (!row) throw new AuthError('TOKEN_INVALID')
  await blacklistToken(db, row.jti)
}

/** auth.verify: any token type; a blacklisted refresh token is not valid. */
export async function checkToken(db: Db, s: TokenSettings, token: string): Promise<VerifiedToken> {
  const verified = await verifyWith(s, token, ['access', 'refresh', 'sliding'])
  if (verified.tokenType !== 'access' && (await isBlacklisted(db, verified.jti))) {
    throw new AuthError('TOKEN_BLACKLISTED')
  }
  return verified
}
