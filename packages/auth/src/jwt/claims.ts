export const TOKEN_TYPES = ['access', 'refresh', 'sliding'] as const
export type TokenType = (typeof TOKEN_TYPES)[number]

/** The claims Gatehouse puts in every JWT (DESIGN.md, "Tokens"). */
export interface TokenClaims {
  sub: string
  jti: string
  iat: number
  exp: number
  token_type: TokenType
}

export interface VerifiedToken {
  userId: number
  jti: string
  tokenType: TokenType
  issuedAt: Date
  expiresAt: Date
}

/** simplejwt's jti: 32 hex characters of randomness. */
export function newJti(): string {
  return crypto.randomUUID().replaceAll('-', '')
}
