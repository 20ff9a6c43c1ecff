import type { JWTPayload } from 'jose'
import { decodeProtectedHeader, errors, jwtVerify } from 'jose'

import type { Clock } from '../clock.js'
import type { KeyRing } from './keys.js'
import { KeyNotFoundError } from './keys.js'
import type { TokenType, VerifiedToken } from './claims.js'
import { AuthError } from '../errors.js'
import { TOKEN_HEADER_TYPES, TOKEN_TYPES } from './claims.js'

export interface VerifyTokenOptions {
  keys: KeyRing
  clock: Clock
  /** The types accepted here; anything else is TOKEN_WRONG_TYPE. */
  expectedTypes: readonly TokenType[]
  /** Required in the token when set (the server always sets it: JWT_ISSUER, or its URL). */
  issuer?: string | undefined
  audience?: string | undefined
  /**
   * Accept a token whose `exp` has passed (everything else still checked): a sliding token may
   * be logged out past its `exp` until its `refresh_exp` (never refreshed).
   */
  allowExpired?: boolean
}

// Far above any token we issue; refuses megabyte "tokens" before any parsing work.
const MAX_TOKEN_LENGTH = 4096

/** A header `typ` as RFC 7515 compares them: case-insensitive, `application/` optional. */
function normalizedTyp(typ: unknown): string | undefined {
  return typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined
}

/**
 * Verifies signature, algorithm, expiry, issuer/audience, token type and that the header `typ`
 * is the one of that type (TOKEN_HEADER_TYPES).
 * Throws AuthError TOKEN_INVALID | TOKEN_EXPIRED | TOKEN_WRONG_TYPE.
 *
 * @example
 * const verified = await verifyToken(token, { keys, clock, expectedTypes: ['access'] })
 */
export async function verifyToken(token: string, opts: VerifyTokenOptions): Promise<VerifiedToken> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new AuthError('TOKEN_INVALID')
  let payload: JWTPayload
  let typ: unknown
  try {
    const verified = await jwtVerify(token, opts.keys.resolve, {
      algorithms: [opts.keys.algorithm], // pinned: no 'none', no RS/HS confusion
      issuer: opts.issuer,
      audience: opts.audience,
      currentDate: opts.clock(),
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
    })
    payload = verified.payload
    typ = verified.protectedHeader.typ
  } catch (cause) {
    if (cause instanceof errors.JWTExpired) {
      // jose checks `exp` after the signature and every other claim, so this payload is sound.
      if (!opts.allowExpired || cause.claim !== 'exp') throw new AuthError('TOKEN_EXPIRED', { cause })
      payload = cause.payload
      typ = decodeProtectedHeader(token).typ
    } else if (cause instanceof errors.JOSEError || cause instanceof KeyNotFoundError) {
      throw new AuthError('TOKEN_INVALID', { cause })
    } else {
      throw cause // a TypeError here is our bug (a bad key or option), not a bad token
    }
  }
  const type = payload['token_type']
  if (typeof type !== 'string' || !(TOKEN_TYPES as readonly string[]).includes(type)) {
    throw new AuthError('TOKEN_INVALID')
  }
  // The signature covers the header, so its typ is ours: a refresh token typed as an access token
  // (or the other way round, or an OAuth at+jwt) was not made by us.
  if (normalizedTyp(typ) !== TOKEN_HEADER_TYPES[type as TokenType].toLowerCase()) {
    throw new AuthError('TOKEN_INVALID')
  }
  if (!opts.expectedTypes.includes(type as TokenType)) throw new AuthError('TOKEN_WRONG_TYPE')
  const userId = Number(payload.sub)
  if (!Number.isSafeInteger(userId) || userId <= 0 || typeof payload.jti !== 'string') {
    throw new AuthError('TOKEN_INVALID')
  }
  const { epoch, refresh_exp: refreshExp } = payload
  if (epoch !== undefined && !(Number.isSafeInteger(epoch) && (epoch as number) >= 0)) throw new AuthError('TOKEN_INVALID')
  if (refreshExp !== undefined && !Number.isSafeInteger(refreshExp)) throw new AuthError('TOKEN_INVALID')
  const verified: VerifiedToken = {
    userId,
    jti: payload.jti,
    tokenType: type as TokenType,
    issuedAt: new Date((payload.iat ?? 0) * 1000),
    expiresAt: new Date((payload.exp ?? 0) * 1000),
  }
  if (epoch !== undefined) verified.epoch = epoch as number
  if (refreshExp !== undefined) verified.refreshExpiresAt = new Date((refreshExp as number) * 1000)
  return verified
}
