export const TOKEN_TYPES = ['access', 'refresh', 'sliding'] as const
export type TokenType = (typeof TOKEN_TYPES)[number]

/**
 * The protected header's `typ` for each token type (RFC 8725, 3.11: explicit typing). Access
 * tokens keep simplejwt's `JWT`, so what accepted them goes on doing so; refresh and sliding tokens
 * get types of their own, so a downstream service that verifies with our JWKS and pins `typ: 'JWT'`
 * never takes one for an access token. Our verifier requires the `typ` of the `token_type` claim.
 */
export const TOKEN_HEADER_TYPES = {
  access: 'JWT',
  refresh: 'refresh+jwt',
  sliding: 'sliding+jwt',
} as const satisfies Record<TokenType, string>

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
