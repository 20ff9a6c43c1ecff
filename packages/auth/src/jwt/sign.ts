import { SignJWT } from 'jose'

import type { Clock } from '../clock.js'
import type { KeyRing } from './keys.js'
import type { TokenType } from './claims.js'
import { epochSeconds } from '../clock.js'
import { newJti, TOKEN_HEADER_TYPES } from './claims.js'

export interface SignTokenOptions {
  keys: KeyRing
  clock: Clock
  lifetimeSeconds: number
  /** `iss`; the server always sets one (JWT_ISSUER, or its URL). */
  issuer?: string | undefined
  audience?: string | undefined
}

export interface TokenSubject {
  userId: number
  tokenType: TokenType
  /** Reuse a jti (a refreshed sliding token keeps its own); a new one otherwise. */
  jti?: string
  /** The user's token epoch, stamped into access and sliding tokens. */
  epoch?: number
  /** Sliding tokens: the `refresh_exp` claim. */
  refreshExpiresAt?: Date
}

export interface SignedToken {
  token: string
  jti: string
  expiresAt: Date
}

/**
 * Signs one JWT of the given type for a user.
 * @example
 * const { token } = await signToken({ userId: 1, tokenType: 'access' }, { keys, clock, lifetimeSeconds: 300 })
 */
export async function signToken(subject: TokenSubject, opts: SignTokenOptions): Promise<SignedToken> {
  const { kid, key } = await opts.keys.currentSigningKey()
  const iat = epochSeconds(opts.clock())
  const exp = iat + opts.lifetimeSeconds
  const jti = subject.jti ?? newJti()
  const claims: { token_type: TokenType; epoch?: number; refresh_exp?: number } = { token_type: subject.tokenType }
  if (subject.epoch !== undefined) claims.epoch = subject.epoch
  if (subject.refreshExpiresAt !== undefined) claims.refresh_exp = epochSeconds(subject.refreshExpiresAt)
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: opts.keys.algorithm, typ: TOKEN_HEADER_TYPES[subject.tokenType], kid })
    .setSubject(String(subject.userId))
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
  if (opts.issuer) jwt.setIssuer(opts.issuer)
  if (opts.audience) jwt.setAudience(opts.audience)
  return { token: await jwt.sign(key), jti, expiresAt: new Date(exp * 1000) }
}
