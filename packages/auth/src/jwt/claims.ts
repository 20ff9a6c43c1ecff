export const TOKEN_TYPES = ['access', 'refresh', 'sliding'] as const
export type TokenType = (typeof TOKEN_TYPES)[number]

/** The claims Gatehouse puts in every JWT (DESIGN.md, "Tokens"). */
export interface TokenClaims {
  sub: string
  jti: string
  iat: number
  exp: number
  token_type: TokenType
  /** Access and sliding tokens: the user's token epoch when signed (absent counts as 0). */
  epoch?: number
  /** Sliding tokens: until when (epoch seconds) they may be refreshed, simplejwt's claim. */
  refresh_exp?: number
}

export interface VerifiedToken {
  userId: number
  jti: string
  tokenType: TokenType
  issuedAt: Date
  expiresAt: Date
  /** The `epoch` claim, when the token carries one (access and sliding tokens). */
  epoch?: number
  /** The `refresh_exp` claim, when the token carries one (sliding tokens). */
  refreshExpiresAt?: Date
}

/** simplejwt's jti: 32 hex characters of randomness. */
export function newJti(): string {
  return crypto.randomUUID().replaceAll('-', '')
}
