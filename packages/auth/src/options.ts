/**
 * What `createAuthService` is given: the database, the secret key and every setting, with their
 * defaults. Types only, so the core and the feature services read their parts of it without
 * importing one another.
 */
import type { Db } from '@gatehouse/db'

import type { Clock } from './clock.js'
import type { JwtAlgorithm } from './jwt/keys.js'
import type { FailureFloor } from './password/failure-floor.js'
import type { PasswordValidator } from './password/index.js'
import type { SessionOptions } from './sessions/options.js'
import type { LoginDelay, Rate } from './throttle/index.js'

export interface AuthServiceOptions {
  db: Db
  /**
   * The server's secret key (SECRET_KEY), at least 32 characters: private signing keys are stored
   * encrypted under a key derived from it (crypto/secret-box.ts).
   */
  secretKey: string
  /**
   * Earlier secret keys that still decrypt (Django's SECRET_KEY_FALLBACKS), while stored secrets
   * are re-encrypted under the current one.
   * @default []
   */
  secretKeyFallbacks?: readonly string[] | undefined
  /** @default systemClock */
  clock?: Clock
  /** bcrypt rounds. @default 12 */
  passwordHashCost?: number
  /** @default DEFAULT_PASSWORD_VALIDATORS (Django's four) */
  passwordValidators?: readonly PasswordValidator[]
  jwt: {
    /** @default 'EdDSA' */
    algorithm?: JwtAlgorithm
    secret?: string | undefined
    /**
     * `iss` of every JWT, required on verification. Unset, tokens carry none until
     * `setDefaultIssuer` gives one (the server gives its URL once it listens).
     */
    issuer?: string | undefined
    audience?: string | undefined
    /** @default 300 */
    accessTokenLifetimeSeconds?: number
    /** @default 604800 */
    refreshTokenLifetimeSeconds?: number
    /** @default true */
    rotateRefreshTokens?: boolean
    /** @default true */
    blacklistAfterRotation?: boolean
    /**
     * REFRESH_REUSE_INTERVAL: a rotated refresh token presented again within this many seconds of
     * its rotation gets a new pair of its family instead of revoking it (two tabs refreshing one
     * cookie at once); 0 turns the grace off. See tokens/refresh.ts.
     * @default 10
     */
    refreshReuseIntervalSeconds?: number
    /** simplejwt's SLIDING_TOKEN_LIFETIME. @default 300 */
    slidingTokenLifetimeSeconds?: number
    /** simplejwt's SLIDING_TOKEN_REFRESH_LIFETIME. @default 604800 (the server's default, 7 days) */
    slidingTokenRefreshLifetimeSeconds?: number
    /**
     * Signing keys are re-read at least this often, so a key rotated or retired by another
     * process reaches this one within this bound (see KeyRing).
     * @default 60
     */
    keyRefreshIntervalSeconds?: number
    /**
     * A rotated key is published at once and signs only this many seconds later, once JWKS
     * caches downstream hold it (KEY_ACTIVATION_DELAY; see KeyRing).
     * @default 0
     */
    keyActivationDelaySeconds?: number
  }
  /**
   * Expired outstanding tokens, sessions and API keys are deleted in the background after a
   * write, at most once per this many seconds per process (no cron needed).
   * @default 600
   */
  pruneIntervalSeconds?: number
  /**
   * Failed logins allowed per (username, client address) and per client address in a window;
   * past it, login is refused with THROTTLED even for the right password. Past it per username
   * alone, attempts at that name are delayed instead (`loginDelay`), never refused (see
   * throttle/login-guard.ts). `null` turns the protection off.
   * @default { limit: 10, windowSeconds: 900 }
   */
  loginFailureRate?: Rate | null
  /** The growing delay for a name past `loginFailureRate`. @default DEFAULT_LOGIN_DELAY (1 s doubling to 10 s) */
  loginDelay?: LoginDelay | undefined
  /** How login waits out a delay; tests record it instead. @default setTimeout */
  sleep?: ((ms: number) => Promise<void>) | undefined
  /** Where failed password checks are measured and padded to equal time. @default a FailureFloor of this service's own */
  passwordFailureFloor?: FailureFloor | undefined
  /**
   * An API token's `lastUsedAt` is written at most once per this many seconds, so a busy token
   * costs no write per request (lucia's throttled session writes).
   * @default 60
   */
  apiTokenLastUsedIntervalSeconds?: number
  /** Where a failed audit write is reported (it never fails the request). */
  onAuditError?: ((error: unknown) => void) | undefined
  /**
   * How long audit events are kept, in seconds; older ones are pruned in the background at most
   * once an hour. `null` keeps them forever (the server's AUDIT_RETENTION defaults to 90 days).
   * @default null
   */
  auditRetentionSeconds?: number | null | undefined
  /** Session age and write throttling (SESSION_COOKIE_AGE); see sessions/service.ts. */
  sessions?: SessionOptions | undefined
  /**
   * Cache what authentication reads (verified access tokens, users, sessions, API keys) in this
   * process, invalidated through Postgres LISTEN/NOTIFY (cache/). Off, every request reads the
   * database. Call `close()` when done: caching holds one extra connection. The server turns it on
   * (AUTH_CACHE).
   * @default false
   */
  cache?: boolean | { maxEntries?: number | undefined; heartbeatMs?: number | undefined } | undefined
  /** Where the cache's connection problems are reported (it reconnects by itself). */
  onCacheError?: ((error: unknown) => void) | undefined
}
