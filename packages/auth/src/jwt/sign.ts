import { SignJWT } from 'jose'

import type { Clock } from '../clock.js'
import type { KeyRing } from './keys.js'
import type { TokenType } from './claims.js'
import { epochSeconds } from '../clock.js'
import { newJti } from './claims.js'

export interface SignTokenOptions {
  keys: KeyRing
  clock: Clock
  lifetimeSeconds: number
  issuer?: string | undefined
  audience?: string | undefined
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
export async function signToken(
  subject: { userId: number; tokenType: TokenType; jti?: string },
  opts: SignTokenOptions,
): Promise<SignedToken> {
  const { kid, key } = opts.keys.signingKey()
  const iat = epochSeconds(opts.clock())
  const exp = iat + opts.lifetimeSeconds
  const jti = subject.jti ?? newJti()
  const jwt = new SignJWT({ token_type: subject.tokenType })
    .setProtectedHeader({ alg: opts.keys.algorithm, typ: 'JWT', kid })
    .setSubject(String(subject.userId))
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
  if (opts.issuer) jwt.setIssuer(opts.issuer)
  if (opts.audience) jwt.setAudience(opts.audience)
  return { token: await jwt.sign(key), jti, expiresAt: new Date(exp * 1000) }
}
