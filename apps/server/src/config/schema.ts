/** The environment variables the server reads, each with its parser and default, and the rules across them. */
import { JWT_ALGORITHMS } from '@gatehouse/auth'
import * as z from 'zod'

import { duration, durationOrOff, durationOrZero, reuseInterval } from './durations.js'
import { grantList, OAUTH_GRANT_TYPES, originList, schemeList } from './lists.js'
import { DEFAULT_SCOPED_RATES, rate, scopedRates } from './rates.js'
import { bool, cookieSecure, int, issuerUrl, workers } from './scalars.js'
import { SECRET_KEY_HELP, secretKey, secretKeyList } from './secret-keys.js'

export const PERMISSION_NAMES = ['AllowAny', 'IsAuthenticated', 'IsAdminUser', 'IsAuthenticatedOrReadOnly'] as const
export type PermissionName = (typeof PERMISSION_NAMES)[number]

export const Env = z
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
