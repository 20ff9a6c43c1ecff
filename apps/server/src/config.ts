/**
 * Configuration: parsed once from the environment, validated, frozen, passed down. The only
 * module that reads process.env (the entry points hand it in).
 */
import { availableParallelism } from 'node:os'

import type { Rate } from '@gatehouse/auth'
import {
  DEFAULT_THREADPOOL_SIZE,
  JWT_ALGORITHMS,
  MIN_SECRET_KEY_LENGTH,
  normalizeTrustedOrigin,
  parseDurationSeconds,
  parseRate,
} from '@gatehouse/auth'
import * as z from 'zod'

import { defaultDbPoolSize, defaultPasswordHashConcurrency, MAX_WORKERS, workerThreadpoolSize } from './sizing.js'

const duration = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const seconds = parseDurationSeconds(value)
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 5m, 12h or 7d, got "${value}"` })
      return z.NEVER
    }
    return seconds
  })

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value, ctx) => {
    if (['true', '1', 'yes', 'on'].includes(value)) return true
    if (['false', '0', 'no', 'off'].includes(value)) return false
    ctx.addIssue({ code: 'custom', message: `expected true or false, got "${value}"` })
    return z.NEVER
  })

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected at least ${min}`).max(max, `expected at most ${max}`))

const RATE_HELP = 'a rate such as 100/min, 1000/hour or 10/15m, or off'

/** A duration, or `off` → null (never). */
const durationOrOff = z
  .string()
  .trim()
  .transform((value, ctx): number | null => {
    if (value.toLowerCase() === 'off') return null
    const seconds = parseDurationSeconds(value)
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 30d or 12h, or off, got "${value}"` })
      return z.NEVER
    }
    return seconds
  })

/**
 * REFRESH_REUSE_INTERVAL: a duration up to 5m, or `0` / `off` → 0 (no grace). Longer would no
 * longer cover a race between tabs but let a stolen token be replayed at leisure.
 */
const reuseInterval = z
  .string()
  .trim()
  .transform((value, ctx): number => {
    const seconds = /^(0+[smhd]?|off)$/i.test(value) ? 0 : parseDurationSeconds(value)
    if (seconds === null || seconds > 300) {
      const message = `expected 0 or off (no grace), or a duration up to 5m such as 10s, got "${value}"`
      ctx.addIssue({ code: 'custom', message })
      return z.NEVER
    }
    return seconds
  })

/** A duration, or `0` for none. */
const durationOrZero = z
  .string()
  .trim()
  .transform((value, ctx): number => {
    if (value === '0') return 0
    const seconds = parseDurationSeconds(value)
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 5m or 1h, or 0, got "${value}"` })
      return z.NEVER
    }
    return seconds
  })

/** A DRF-style rate; `off` → null (no throttle). */
const rate = z
  .string()
  .trim()
  .transform((value, ctx): Rate | null => {
    if (value.toLowerCase() === 'off') return null
    const parsed = parseRate(value)
    if (!parsed) {
      ctx.addIssue({ code: 'custom', message: `expected ${RATE_HELP}, got "${value}"` })
      return z.NEVER
    }
    return parsed
  })

/**
 * Scoped rates in force unless THROTTLE_RATES names the scope (`register=off` drops it): bcrypt
 * work anyone can ask for without an account is bounded per address (register=20/h).
 */
const DEFAULT_SCOPED_RATES: ReadonlyMap<string, Rate> = new Map([['register', { limit: 20, windowSeconds: 3600 }]])

/**
 * DRF's `DEFAULT_THROTTLE_RATES` for scopes: `register=20/h,refresh=600/min`, laid over
 * DEFAULT_SCOPED_RATES; `off` drops a scope.
 */
const scopedRates = z
  .string()
  .trim()
  .transform((value, ctx): ReadonlyMap<string, Rate> => {
    const rates = new Map(DEFAULT_SCOPED_RATES)
    for (const entry of value.split(',')) {
      if (!entry.trim()) continue
      const match = /^\s*([a-z][\w.-]*)\s*=(.+)$/i.exec(entry)
      const scope = match?.[1]
      const text = match?.[2]?.trim() ?? ''
      const off = text.toLowerCase() === 'off'
      const parsed = off ? null : parseRate(text)
      if (!scope || (!off && !parsed)) {
        const message = `expected comma-separated scope=rate pairs such as register=20/h,refresh=off; got "${entry.trim()}"`
        ctx.addIssue({ code: 'custom', message })
        return z.NEVER
      }
      if (parsed) rates.set(scope, parsed)
      else rates.delete(scope)
    }
    return rates
  })

/** The built-in authentication schemes, in their default order (DRF's DEFAULT_AUTHENTICATION_CLASSES). */
export const BUILTIN_AUTH_SCHEMES = ['bearer', 'token', 'session', 'cookie', 'oauth'] as const

/** Django's CSRF_TRUSTED_ORIGINS: `https://app.example.com,https://*.example.com`, normalised. */
const originList = z
  .string()
  .trim()
  .transform((value, ctx): readonly string[] => {
    const origins: string[] = []
    for (const entry of value.split(',')) {
      if (!entry.trim()) continue
      const origin = normalizeTrustedOrigin(entry)
      if (!origin) {
        const message = `expected comma-separated origins such as https://app.example.com or https://*.example.com; got "${entry.trim()}"`
        ctx.addIssue({ code: 'custom', message })
        return z.NEVER
      }
      origins.push(origin)
    }
    return Object.freeze(origins)
  })

/** COOKIE_SECURE: `auto` (Secure when the request came over TLS), or forced on or off. */
const cookieSecure = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value, ctx): 'auto' | boolean => {
    if (value === 'auto') return 'auto'
    if (['true', '1', 'yes', 'on'].includes(value)) return true
    if (['false', '0', 'no', 'off'].includes(value)) return false
    ctx.addIssue({ code: 'custom', message: `expected auto, true or false, got "${value}"` })
    return z.NEVER
  })

/**
 * AUTH_SCHEMES: scheme names in the order they are tried. Only the syntax is checked here; names
 * are matched against the built-in and registered authenticators when the app starts.
 */
const schemeList = z
  .string()
  .trim()
  .transform((value, ctx): readonly string[] => {
    const names = value.split(',').map((name) => name.trim().toLowerCase())
    const bad = names.find((name) => !/^[a-z][a-z0-9_-]*$/.test(name))
    const duplicate = names.find((name, i) => names.indexOf(name) !== i)
    if (bad !== undefined || duplicate !== undefined) {
      const why = bad !== undefined ? `"${bad}" is not a scheme name` : `"${duplicate}" is listed twice`
      ctx.addIssue({ code: 'custom', message: `expected comma-separated scheme names such as bearer,token; ${why}` })
      return z.NEVER
    }
    return Object.freeze(names)
  })

/** The grants the OAuth server can offer (OAUTH_GRANTS); a client is allowed a subset of them. */
export const OAUTH_GRANT_TYPES = ['authorization_code', 'client_credentials', 'refresh_token'] as const
export type OAuthGrantType = (typeof OAUTH_GRANT_TYPES)[number]

/** OAUTH_GRANTS: comma-separated grant types, each one of OAUTH_GRANT_TYPES. */
const grantList = z
  .string()
  .trim()
  .transform((value, ctx): readonly OAuthGrantType[] => {
    const names = value
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean)
    const bad = names.find((name) => !(OAUTH_GRANT_TYPES as readonly string[]).includes(name))
    if (bad !== undefined || names.length === 0) {
      const why = bad === undefined ? 'none given' : `"${bad}" is not one of them`
      ctx.addIssue({
        code: 'custom',
        message: `expected comma-separated grants from ${OAUTH_GRANT_TYPES.join(', ')}; ${why}`,
      })
      return z.NEVER
    }
    return Object.freeze([...new Set(names)] as OAuthGrantType[])
  })

/** An absolute http(s) URL without query or fragment (an OAuth issuer). */
const issuerUrl = z
  .string()
  .trim()
  .transform((value, ctx) => {
    let url: URL | undefined
    try {
      url = new URL(value)
    } catch {
      url = undefined
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash) {
      ctx.addIssue({ code: 'custom', message: `expected an http(s) URL without query or fragment, got "${value}"` })
      return z.NEVER
    }
    return value.replace(/\/+$/, '')
  })

/** WORKERS: `auto` (one per core) or a whole number of processes. */
const workers = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value, ctx): number => {
    if (value === 'auto') return availableParallelism()
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
    if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
      ctx.addIssue({
        code: 'custom',
        message: `expected auto or a whole number from 1 to ${MAX_WORKERS}, got "${value}"`,
      })
      return z.NEVER
    }
    return n
  })

const MIN_SECRET_KEY_CHARACTERS = 10
const SECRET_KEY_HELP = `at least ${MIN_SECRET_KEY_LENGTH} characters, ${MIN_SECRET_KEY_CHARACTERS} of them different (make one with: openssl rand -base64 32)`

/** Whether a secret key is long and varied enough. Its value is never echoed in an error. */
function strongSecretKey(value: string): boolean {
  return value.length >= MIN_SECRET_KEY_LENGTH && new Set(value).size >= MIN_SECRET_KEY_CHARACTERS
}

/** SECRET_KEY: derives the key that encrypts secrets at rest (and the DRF token HMAC key). */
const secretKey = z.string().refine(strongSecretKey, `expected ${SECRET_KEY_HELP}`)

/** SECRET_KEY_FALLBACKS: earlier SECRET_KEYs, comma-separated (Django's setting of that name). */
const secretKeyList = z.string().transform((value, ctx): readonly string[] => {
  const keys = value
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean)
  const bad = keys.findIndex((key) => !strongSecretKey(key))
  if (bad >= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected comma-separated keys, each ${SECRET_KEY_HELP}; key ${bad + 1} is not`,
    })
    return z.NEVER
  }
  return Object.freeze(keys)
})

export const PERMISSION_NAMES = ['AllowAny', 'IsAuthenticated', 'IsAdminUser', 'IsAuthenticatedOrReadOnly'] as const
export type PermissionName = (typeof PERMISSION_NAMES)[number]

const Env = z
  .object({
    PORT: int(0, 65_535).default(3000),
    HOST: z.string().trim().min(1).default('127.0.0.1'),
    DATABASE_URL: z
      .string()
      .trim()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL')
      .optional(),
    DATA_DIR: z.string().trim().min(1).default('./.data'),
    ACCESS_TOKEN_LIFETIME: duration.default(300),
    REFRESH_TOKEN_LIFETIME: duration.default(604_800),
    SLIDING_TOKEN_LIFETIME: duration.default(300),
    SLIDING_TOKEN_REFRESH_LIFETIME: duration.default(604_800),
    ROTATE_REFRESH_TOKENS: bool.default(true),
    BLACKLIST_AFTER_ROTATION: bool.default(true),
    REFRESH_REUSE_INTERVAL: reuseInterval.default(10),
    JWT_ALGORITHM: z.enum(JWT_ALGORITHMS, { error: `expected one of ${JWT_ALGORITHMS.join(', ')}` }).default('EdDSA'),
    JWT_SECRET: z.string().optional(),
    JWT_ISSUER: z.string().trim().min(1).optional(),
    JWT_AUDIENCE: z.string().trim().min(1).optional(),
    KEY_REFRESH_INTERVAL: duration.default(60),
    // At least the JWKS answer's max-age (300 s, http/server.ts), so caches downstream hold a new key first.
    KEY_ACTIVATION_DELAY: durationOrZero.default(300),
    PASSWORD_HASH_COST: int(4, 31).default(12),
    DEFAULT_PERMISSION: z
      .enum(PERMISSION_NAMES, { error: `expected one of ${PERMISSION_NAMES.join(', ')}` })
      .default('IsAuthenticated'),
    /** Largest request body accepted, in bytes. */
    MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
    DB_POOL_SIZE: int(1, 1000).optional(),
    WORKERS: workers.default(1),
    // Read by libuv when the thread pool starts, before any of our code: here only to size the
    // hashing slots to it (and checked, so a typo is not silently libuv's default).
    UV_THREADPOOL_SIZE: int(1, 1024).optional(),
    PASSWORD_HASH_CONCURRENCY: int(1, 1024).optional(),
    PASSWORD_HASH_MAX_WAIT: duration.default(5),
    NUM_PROXIES: int(0, 32).default(0),
    // Generous on purpose: they stop floods, not busy clients behind one address.
    THROTTLE_ANON: rate.default({ limit: 1000, windowSeconds: 60 }),
    THROTTLE_USER: rate.default({ limit: 10_000, windowSeconds: 60 }),
    THROTTLE_RATES: scopedRates.default(new Map(DEFAULT_SCOPED_RATES)),
    THROTTLE_LOGIN_FAILURES: rate.default({ limit: 10, windowSeconds: 900 }),
    AUTH_SCHEMES: schemeList.optional(),
    SESSION_COOKIE_AGE: duration.default(1_209_600),
    CSRF_TRUSTED_ORIGINS: originList.default([]),
    COOKIE_SECURE: cookieSecure.default('auto'),
    AUDIT_RETENTION: durationOrOff.default(90 * 86_400),
    HTTP_ADAPTER: z
      .enum(['lean', 'stock'], { error: (issue) => `expected lean or stock, got "${String(issue.input)}"` })
      .default('lean'),
    AUTH_CACHE: z
      .enum(['on', 'off'], { error: (issue) => `expected on or off, got "${String(issue.input)}"` })
      .default('on'),
    OAUTH_ISSUER: issuerUrl.optional(),
    OAUTH_RESOURCE: z.string().trim().min(1).default('urn:gatehouse:api'),
    OAUTH_ACCESS_TOKEN_LIFETIME: duration.default(3600),
    OAUTH_REFRESH_TOKEN_LIFETIME: duration.default(14 * 86_400),
    OAUTH_AUTHORIZATION_CODE_LIFETIME: duration.default(60),
    OAUTH_GRANTS: grantList.default([...OAUTH_GRANT_TYPES]),
    SECRET_KEY: secretKey.optional(),
    SECRET_KEY_FALLBACKS: secretKeyList.optional(),
    // Read for one rule only: a production server on Postgres must be given its SECRET_KEY.
    NODE_ENV: z.string().trim().optional(),
  })
  .superRefine((env, ctx) => {
    if (!env.SECRET_KEY && env.DATABASE_URL && env.NODE_ENV === 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['SECRET_KEY'],
        message: `required with DATABASE_URL when NODE_ENV=production: ${SECRET_KEY_HELP}`,
      })
    }
    if (env.JWT_ALGORITHM === 'HS256' && (!env.JWT_SECRET || env.JWT_SECRET.length < 32)) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'required with JWT_ALGORITHM=HS256, at least 32 characters',
      })
    }
  })

function toConfig(env: z.output<typeof Env>) {
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
     * by the connection's peer address (http/client-address.ts).
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
    /** The OAuth server's issuer (`iss`); unset, `<the bound URL>/oauth` (see oauth/settings.ts). */
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

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  /** One line per bad variable, each naming it. */
  readonly lines: string[]
  constructor(lines: string[]) {
    super(lines.join('\n'))
    this.lines = lines
  }
}

/**
 * Parses the environment. Empty strings count as unset, as in a `.env` file with `X=`.
 * @example
 * const config = loadConfig({ PORT: '0', PASSWORD_HASH_COST: '4' })
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const relevant = Object.fromEntries(
    Object.keys(Env.shape).flatMap((key) => {
      const value = env[key]
      return value === undefined || value === '' ? [] : [[key, value]]
    }),
  )
  const parsed = Env.safeParse(relevant)
  if (!parsed.success) {
    const lines = new Map<string, string>()
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'environment')
      if (!lines.has(name)) lines.set(name, `${name}: ${issue.message}`)
    }
    throw new ConfigError([...lines.values()])
  }
  return Object.freeze(toConfig(parsed.data))
}
