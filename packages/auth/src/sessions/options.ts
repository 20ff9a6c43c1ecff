/**
 * The sessions' settings, apart from their service so the service options (options.ts) can name
 * them without importing the service.
 */

/** Django's SESSION_COOKIE_AGE: two weeks. */
export const DEFAULT_SESSION_AGE_SECONDS = 1_209_600

export interface SessionOptions {
  /** How long an unused session lives; each use restarts the count. @default 1_209_600 */
  ageSeconds?: number | undefined
  /** A session's row is written (last use, expiry) at most this often. @default 60 */
  touchIntervalSeconds?: number | undefined
}
