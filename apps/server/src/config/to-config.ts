/** The parsed environment turned into the Config the server is handed, with the defaults that depend on the machine. */
import { availableParallelism } from 'node:os'

import { DEFAULT_THREADPOOL_SIZE } from '@gatehouse/auth'
import type * as z from 'zod'

import { defaultDbPoolSize, defaultPasswordHashConcurrency, workerThreadpoolSize } from '../sizing.js'
import type { Env } from './schema.js'

export function toConfig(env: z.output<typeof Env>) {
  const cores = availableParallelism()
  const sizing = { cores, workers: env.WORKERS }
  const threadpoolSize = env.UV_THREADPOOL_SIZE ?? DEFAULT_THREADPOOL_SIZE
  return {
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    accessTokenLifetimeSeconds: env.ACCESS_TOKEN_LIFETIME,
    refreshTokenLifetimeSeconds: env.REFRESH_TOKEN_LIFETIME,
    slidingTokenLifetimeSeconds: env.SLIDING_TOKEN_LIFETIME,
    slidingTokenRefreshLifetimeSeconds: env.SLIDING_TOKEN_REFRESH_LIFETIME,
    rotateRefreshTokens: env.ROTATE_REFRESH_TOKENS,
    blacklistAfterRotation: env.BLACKLIST_AFTER_ROTATION,
    /**
     * How long after its rotation a refresh token presented again gets a new pair of its family
     * (two tabs refreshing one cookie at once) rather than counting as reuse; 0 = never.
     */
    refreshReuseIntervalSeconds: env.REFRESH_REUSE_INTERVAL,
    jwtAlgorithm: env.JWT_ALGORITHM,
    jwtSecret: env.JWT_SECRET,
    /** `iss` of every JWT, required on verification; unset, the bound URL (app.ts), as for OAUTH_ISSUER. */
    jwtIssuer: env.JWT_ISSUER,
    jwtAudience: env.JWT_AUDIENCE,
    /** How stale a process's signing keys may get: a key retired elsewhere stops verifying within it. */
    keyRefreshIntervalSeconds: env.KEY_REFRESH_INTERVAL,
    /** A rotated key signs this long after it is published (0: at once). */
    keyActivationDelaySeconds: env.KEY_ACTIVATION_DELAY,
    passwordHashCost: env.PASSWORD_HASH_COST,
    defaultPermission: env.DEFAULT_PERMISSION,
    maxBodyBytes: env.MAX_BODY_BYTES,
    /** Connections per process; by default from the cores and WORKERS (sizing.ts). */
    dbPoolSize: env.DB_POOL_SIZE ?? defaultDbPoolSize(sizing),
    /** Server processes (node:cluster workers) when above 1; cluster.ts. */
    workers: env.WORKERS,
    /** This process's libuv thread pool: UV_THREADPOOL_SIZE, or libuv's default of 4. */
    threadpoolSize,
    /** The thread pool the primary gives its workers: UV_THREADPOOL_SIZE, or from the cores. */
    workerThreadpoolSize: env.UV_THREADPOOL_SIZE ?? workerThreadpoolSize(sizing),
    /** Password hashes in flight per process, below the thread pool size (auth's password/limiter.ts). */
    passwordHashConcurrency:
      env.PASSWORD_HASH_CONCURRENCY ?? defaultPasswordHashConcurrency({ ...sizing, threadpoolSize }),
    /** A hash or check that would wait longer for a slot is refused: 503 UNAVAILABLE with Retry-After. */
    passwordHashMaxWaitSeconds: env.PASSWORD_HASH_MAX_WAIT,
    /**
     * Trusted proxies in front that append to X-Forwarded-For (DRF's NUM_PROXIES); 0 keys callers
     * by the connection's peer address (kit/client-address.ts).
     */
    numProxies: env.NUM_PROXIES,
    /** Anonymous callers, per client address (DRF's AnonRateThrottle); null when off. */
    throttleAnon: env.THROTTLE_ANON,
    /** Authenticated callers, per user (DRF's UserRateThrottle); null when off. */
    throttleUser: env.THROTTLE_USER,
    /** Per-scope rates for `throttled(scope)` (DRF's ScopedRateThrottle); a scope not here is free. */
    throttleRates: env.THROTTLE_RATES,
    /** Failed logins per username and per address; null when off. */
    throttleLoginFailures: env.THROTTLE_LOGIN_FAILURES,
    /**
     * Authentication schemes in the order they are tried; unset means `bearer,token,session,cookie` followed by
     * any custom schemes the app registers, in registration order.
     */
    authSchemes: env.AUTH_SCHEMES,
    /** The `sessionid` cookie's Max-Age and a session's idle lifetime (Django's SESSION_COOKIE_AGE). */
    sessionCookieAgeSeconds: env.SESSION_COOKIE_AGE,
    /** Origins besides the request's own that cookie-authenticated unsafe requests may come from. */
    csrfTrustedOrigins: env.CSRF_TRUSTED_ORIGINS,
    /** Whether cookies carry `Secure`: `auto` follows the request's own scheme. */
    cookieSecure: env.COOKIE_SECURE,
    /** How long audit events are kept, in seconds; null keeps them forever. */
    auditRetentionSeconds: env.AUDIT_RETENTION,
    /** How /trpc is served: `lean` (straight from node:http, http/trpc-lean.ts) or tRPC's `stock` node adapter. */
    httpAdapter: env.HTTP_ADAPTER,
    /**
     * Whether this process caches verified access tokens, users, sessions and API keys,
     * invalidated through LISTEN/NOTIFY (the auth package's cache/). `off`: every request reads the database.
     */
    authCache: env.AUTH_CACHE === 'on',
    /** The OAuth server's issuer (`iss`); unset, `<the bound URL>/oauth` (see oauth-core/settings.ts). */
    oauthIssuer: env.OAUTH_ISSUER,
    /** The resource indicator our API answers to: the `aud` of OAuth access tokens. */
    oauthResource: env.OAUTH_RESOURCE,
    oauthAccessTokenLifetimeSeconds: env.OAUTH_ACCESS_TOKEN_LIFETIME,
    oauthRefreshTokenLifetimeSeconds: env.OAUTH_REFRESH_TOKEN_LIFETIME,
    oauthAuthorizationCodeLifetimeSeconds: env.OAUTH_AUTHORIZATION_CODE_LIFETIME,
    /** The grants the OAuth server offers at all; each client is allowed a subset. */
    oauthGrants: env.OAUTH_GRANTS,
    /**
     * Encrypts the secrets stored in the database (signing keys, the OAuth server's keys) and keys
     * the DRF token HMAC. Unset: the key in DATA_DIR/secret_key, made on first start (secret-key.ts).
     */
    secretKey: env.SECRET_KEY,
    /** Earlier SECRET_KEYs that still decrypt until `gatehouse encryptsecrets` re-encrypts under SECRET_KEY. */
    secretKeyFallbacks: env.SECRET_KEY_FALLBACKS ?? [],
  }
}

export type Config = Readonly<ReturnType<typeof toConfig>>
