/**
 * How the service signs and checks its JWTs (lifetimes, rotation, issuer, keys): one object, built
 * by the core (core.ts) and read by every token flow.
 */
import type { Clock } from '../clock.js'
import type { KeyRing } from '../jwt/keys.js'

export interface TokenSettings {
  keys: KeyRing
  clock: Clock
  accessTokenLifetimeSeconds: number
  refreshTokenLifetimeSeconds: number
  /** simplejwt's SLIDING_TOKEN_LIFETIME: how long a sliding token authenticates. */
  slidingTokenLifetimeSeconds: number
  /** simplejwt's SLIDING_TOKEN_REFRESH_LIFETIME: how long after obtain it may be refreshed. */
  slidingTokenRefreshLifetimeSeconds: number
  rotateRefreshTokens: boolean
  blacklistAfterRotation: boolean
  /**
   * REFRESH_REUSE_INTERVAL: how long after its rotation a refresh token presented again gets a
   * new pair of its family rather than revoking it; 0 turns the grace off.
   */
  refreshReuseIntervalSeconds: number
  /** `iss`, signed and required; set once the server knows its URL (see `setDefaultIssuer`). */
  issuer?: string | undefined
  audience?: string | undefined
}

export interface TokenPair {
  access: string
  refresh: string
}
