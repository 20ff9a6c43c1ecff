/**
 * The core every feature service is built on: the database and the clock, the secret box and the
 * key ring, the token settings, this process's cache and its invalidation bus, the audit recorder,
 * the pruner and the throttle's shared state. `createCore` wires them from the service options;
 * each feature (users/service.ts, tokens/jwt-service.ts, sessions/service.ts, …) takes the result
 * and wires nothing of its own.
 */
import type { Db } from '@gatehouse/db'

import type { AuditRecorder, RequestMeta } from './audit/audit.js'
import type { CachedUser } from './cache/auth-cache.js'
import type { Clock } from './clock.js'
import type { AuthServiceOptions } from './options.js'
import { FailureFloor } from './password/failure-floor.js'
import type { TokenSettings } from './tokens/settings.js'
import type { AuthUser } from './users/user.js'
import { createAuditRecorder } from './audit/audit.js'
import { AuthCache } from './cache/auth-cache.js'
import { InvalidationBus } from './cache/bus.js'
import { systemClock } from './clock.js'
import { SecretBox } from './crypto/secret-box.js'
import { KeyRing } from './jwt/keys.js'
import { Pruner } from './maintenance/prune.js'
import { measurePbkdf2, warmPasswordHashing } from './password/index.js'
import { findTokenUser } from './store/epoch.repository.js'
import { findSlowestPbkdf2Iterations, findUserWithGroups } from './store/user.repository.js'
import { HitBatch, ThrottleState } from './throttle/index.js'
import { toAuthUser } from './users/user.js'

/**
 * Who is logging in from where: the address is counted alongside the username when a login
 * fails; both are written to the audit log.
 */
export interface LoginOptions extends RequestMeta {
  /** How the credentials are exchanged, for the audit log (`jwt`, `api_token`, `session`, `sliding`). */
  via?: string | undefined
}

/**
 * What the feature services share (the service's `core` member): the core's wiring and the one
 * password check, so each feature lives in its own file and is spread into the service object.
 */
export interface ServiceCore {
  db: Db
  clock: Clock
  /** bcrypt rounds. */
  cost: number
  tokens: TokenSettings
  /** The one password check behind every credential exchange; see users/service.ts. */
  checkLogin(input: { username: string; password: string }, opts: LoginOptions): Promise<AuthUser>
  loadUser(id: number): Promise<AuthUser | undefined>
  /**
   * The user and their token epoch as authentication needs them, from this process's cache when
   * it may serve (see cache/auth-cache.ts), else one query. The user object is frozen.
   */
  cachedUser(id: number): Promise<CachedUser | undefined>
  /** This process's auth cache and its invalidation bus; null when caching is off. */
  cache: AuthCache | null
  bus: InvalidationBus | null
  audit: AuditRecorder
  /**
   * Call after a write that leaves rows to expire (tokens, sessions, keys): prunes expired rows
   * in the background when due (maintenance/prune.ts). Returns at once, never throws.
   */
  afterWrite(): void
}

/**
 * The wiring itself: everything in ServiceCore but the password check (the users service adds
 * it), and what only the composition and a few features use.
 */
export interface AuthCore extends Omit<ServiceCore, 'checkLogin'> {
  keys: KeyRing
  /** Encrypts the secrets stored in the database under the secret key. */
  secrets: SecretBox
  pruner: Pruner
  /** Where failed password checks are measured and padded: the service's own unless one was given. */
  floor: FailureFloor | undefined
  /** Settles once the slowest stored PBKDF2 hash is timed (or there is none); a login waits for it. */
  pbkdf2Measured: Promise<void>
  /** This process's fast path for refused throttle keys; the counts themselves live in the database. */
  throttleState: ThrottleState
  /** Concurrent requests' throttle counts share one upsert (exact; see HitBatch). */
  throttleBatch: HitBatch
}

/**
 * Wires the core; resolves once the key ring is loaded and, with caching on, the bus listens.
 * @example
 * const core = await createCore({ db, secretKey, jwt: {} })
 */
export async function createCore(opts: AuthServiceOptions): Promise<AuthCore> {
  const { db } = opts
  const clock = opts.clock ?? systemClock
  const cost = opts.passwordHashCost ?? 12
  const secrets = new SecretBox({ secretKey: opts.secretKey, fallbacks: opts.secretKeyFallbacks })
  // The service's own: in production one per process as before; in a process with several
  // services (tests, tools) one's imported PBKDF2 users do not pad another's failures.
  const floor = opts.passwordFailureFloor ?? new FailureFloor()
  warmPasswordHashing({ cost, floor })
  // Failures are padded to the slowest check; imported PBKDF2 users can be slower than bcrypt,
  // so the slowest of theirs is measured before the first login is checked, not after it shows
  // it. In the background: a start never waits on it, nor fails when the database is down.
  const pbkdf2Measured = findSlowestPbkdf2Iterations(db)
    .then((iterations) => (iterations === null ? undefined : measurePbkdf2(iterations, floor)))
    .catch(() => undefined)
  const keys = new KeyRing({
    db,
    algorithm: opts.jwt.algorithm ?? 'EdDSA',
    secret: opts.jwt.secret,
    secrets,
    refreshIntervalMs: (opts.jwt.keyRefreshIntervalSeconds ?? 60) * 1000,
    clock,
    activationDelaySeconds: opts.jwt.keyActivationDelaySeconds,
  })
  await keys.init()
  const tokens: TokenSettings = {
    keys,
    clock,
    accessTokenLifetimeSeconds: opts.jwt.accessTokenLifetimeSeconds ?? 300,
    refreshTokenLifetimeSeconds: opts.jwt.refreshTokenLifetimeSeconds ?? 604_800,
    slidingTokenLifetimeSeconds: opts.jwt.slidingTokenLifetimeSeconds ?? 300,
    slidingTokenRefreshLifetimeSeconds: opts.jwt.slidingTokenRefreshLifetimeSeconds ?? 604_800,
    rotateRefreshTokens: opts.jwt.rotateRefreshTokens ?? true,
    blacklistAfterRotation: opts.jwt.blacklistAfterRotation ?? true,
    refreshReuseIntervalSeconds: opts.jwt.refreshReuseIntervalSeconds ?? 10,
    issuer: opts.jwt.issuer,
    audience: opts.jwt.audience,
  }
  const throttleState = new ThrottleState()
  const throttleBatch = new HitBatch(db)
  const pruner = new Pruner({ db, clock, intervalSeconds: opts.pruneIntervalSeconds })
  const afterWrite = () => pruner.afterWrite()
  const audit = createAuditRecorder({
    db,
    clock,
    onError: opts.onAuditError,
    retentionSeconds: opts.auditRetentionSeconds,
  })

  async function loadUser(id: number): Promise<AuthUser | undefined> {
    const row = await findUserWithGroups(db, id)
    return row && toAuthUser(row, row.groups)
  }

  const cacheOptions = opts.cache === true ? {} : opts.cache || null
  const cache = cacheOptions
    ? new AuthCache({
        maxEntries: cacheOptions.maxEntries,
        now: clock === systemClock ? Date.now : () => clock().getTime(),
      })
    : null
  const bus = cache
    ? new InvalidationBus({
        db,
        onChange: (what) => cache.change(what),
        onLive: (live) => cache.setLive(live),
        heartbeatMs: cacheOptions?.heartbeatMs,
        onError: opts.onCacheError,
      })
    : null
  if (cache) cache.onKeysChanged = () => keys.invalidate()
  await bus?.start()

  async function cachedUser(id: number): Promise<CachedUser | undefined> {
    const hit = cache?.user(id)
    if (hit) return hit
    const ticket = cache?.ticket() ?? -1
    const row = await findTokenUser(db, id)
    if (!row) return undefined
    const entry: CachedUser = { user: toAuthUser(row, row.groups), epoch: row.token_epoch }
    cache?.putUser(entry, ticket)
    return entry
  }

  return {
    db,
    clock,
    cost,
    tokens,
    keys,
    secrets,
    floor,
    pbkdf2Measured,
    loadUser,
    cachedUser,
    cache,
    bus,
    audit,
    pruner,
    afterWrite,
    throttleState,
    throttleBatch,
  }
}
