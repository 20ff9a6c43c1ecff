/**
 * `verifyToken` with the service's settings: the shorthand every check of our own tokens uses
 * (access-token authentication, refresh, logout, sliding tokens, auth.verify).
 */
import type { TokenType, VerifiedToken } from './claims.js'
import type { VerifyTokenOptions } from './verify.js'
import { verifyToken } from './verify.js'

/** What verification reads from the token settings (tokens/settings.ts's TokenSettings has it all). */
export type VerifySettings = Pick<VerifyTokenOptions, 'keys' | 'clock' | 'issuer' | 'audience'>

/**
 * @example
 * const verified = await verifyWith(settings, token, ['access', 'sliding'])
 * const sliding = await verifyWith(settings, token, { types: ['sliding'], allowExpired: true })
 */
export async function verifyWith(
  s: VerifySettings,
  token: string,
  expectedTypes: TokenType[] | { types: TokenType[]; allowExpired: boolean },
): Promise<VerifiedToken> {
  const { types, allowExpired } = Array.isArray(expectedTypes)
    ? { types: expectedTypes, allowExpired: false }
    : expectedTypes
  return verifyToken(token, {
    keys: s.keys,
    clock: s.clock,
    expectedTypes: types,
    issuer: s.issuer,
    audience: s.audience,
    allowExpired,
  })
}
