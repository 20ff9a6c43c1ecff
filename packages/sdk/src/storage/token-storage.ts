/**
 * What a client stores: the pair `auth.login` and `auth.refresh` answer with, or in sliding mode
 * the one token of `auth.sliding.obtain` in both fields (a sliding token is both what is sent and
 * what is traded), so every storage adapter serves both modes unchanged.
 */
export interface Tokens {
  /** Short-lived JWT sent as `Authorization: Bearer <access>`; in sliding mode, the sliding token. */
  access: string
  /**
   * Longer-lived JWT traded for a new pair by `auth.refresh`, rotated on every use; in sliding
   * mode, the same sliding token, traded by `auth.sliding.refresh`.
   */
  refresh: string
}

/**
 * Where the client keeps its tokens. Every method may be synchronous or return a promise, so an
 * adapter can sit on `localStorage`, a cookie jar, a keychain or a database row.
 *
 * @example
 * ```ts
 * const storage: TokenStorage = {
 *   get: () => session.tokens ?? null,
 *   set: (tokens) => { session.tokens = tokens },
 *   clear: () => { delete session.tokens },
 * }
 * ```
 */
export interface TokenStorage {
  /** The stored pair, or `null` when logged out. */
  get(): Tokens | null | Promise<Tokens | null>
  /** Replaces the stored pair. */
  set(tokens: Tokens): void | Promise<void>
  /** Forgets the stored pair. */
  clear(): void | Promise<void>
}

/** Accepts only a well-formed pair, whatever a storage backend hands back. */
export function toTokens(value: unknown): Tokens | null {
  if (typeof value !== 'object' || value === null) return null
  const { access, refresh } = value as Record<string, unknown>
  if (typeof access !== 'string' || typeof refresh !== 'string' || !access || !refresh) return null
  return { access, refresh }
}

/** Sliding mode's tokens from `{ token }` (`auth.sliding.obtain` and `auth.sliding.refresh`). */
export function toSlidingTokens(value: unknown): Tokens | null {
  if (typeof value !== 'object' || value === null) return null
  const { token } = value as Record<string, unknown>
  return typeof token === 'string' && token ? { access: token, refresh: token } : null
}
