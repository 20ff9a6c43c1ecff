/**
 * The auth service: every operation the server and the CLI need, over one database and one key
 * ring, with no HTTP in sight. The server adapts it to tRPC; the CLI calls it directly.
 */
import type { ApiToken, Db } from '@gatehouse/db'

import type { AuditRecorder, RequestMeta } from './audit/audit.js'
import type { Clock } from './clock.js'
import type { JwtAlgorithm } from './jwt/keys.js'
import type { VerifiedToken } from './jwt/claims.js'
import type { PasswordValidator } from './password/index.js'
import type { Rate, ThrottleResult } from './throttle/index.js'
import type { TokenPair, TokenSettings } from './tokens/settings.js'
import type { AuthUser, PublicUser } from './users/user.js'
import { createAuditRecorder } from './audit/audit.js'
import { systemClock } from './clock.js'
import { AuthError } from './errors.js'
import { SecretBox } from './crypto/secret-box.js'
import { KeyRing } from './jwt/keys.js'
import {
  DEFAULT_PASSWORD_VALIDATORS,
  hashPassword,
  validatePassword,
  verifyDummyPassword,
  verifyPassword,
  measurePbkdf2,
  warmPasswordHashing,
} from './password/index.js'
import type { FailureFloor } from './password/failure-floor.js'
import {
  deleteApiToken,
  deleteUserApiTokens,
  findApiToken,
  findUserApiTokens,
  insertApiToken,
  lockDrfKeyNonce,
  renewDrfKeyNonce,
  touchApiToken,
} from './store/api-token.repository.js'
import { deleteUserGroup, ensureGroup, findGroupByName, insertUserGroup } from './store/group.repository.js'
import { blacklistUserTokens } from './store/token.repository.js'
import type { LoginDelay } from './throttle/index.js'
import { HitBatch, hitCounter, LoginGuard, ThrottleState } from './throttle/index.js'
import {
  findSlowestPbkdf2Iterations,
  findUserByUsername,
  findUserWithGroups,
  insertUser,
  updateUser,
} from './store/user.repository.js'
import { checkToken, issueTokenPair, revokeRefreshToken, rotateRefreshToken } from './tokens/refresh.js'
import { assertCurrentEpoch, authenticateJwt, authenticateVerifiedJwt, logoutEverywhere } from './tokens/epoch.js'
import { verifyWith } from './jwt/verify-with.js'
import { AuthCache, type CachedUser } from './cache/auth-cache.js'
import { InvalidationBus } from './cache/bus.js'
import { slidingService } from './tokens/sliding.js'
import { sessionService, type SessionOptions } from './sessions/service.js'
import { deleteUserSessions } from './sessions/repository.js'
import { Pruner, pruneExpired } from './maintenance/prune.js'
import { bumpTokenEpoch, deleteUserOAuthSessions, findTokenUser } from './store/epoch.repository.js'
import { generateApiToken, parseApiToken, verifyApiTokenSecret } from './tokens/api-token.js'
import { DRF_TOKEN_PURPOSE } from './tokens/drf-token.js'
import { obtainDrfToken } from './tokens/obtain-drf-token.js'
import { toAuthUser, toPublicUser } from './users/user.js'
import { checkUsername, normalizeUsername } from './users/username.js'

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
  /** Where failed password checks are measured and padded to equal time. @default passwordFailureFloor */
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

/** An API token as its owner sees it: never the key, never the hash. */
export interface ApiTokenInfo {
  id: string
  name: string
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
}

export interface CreateApiTokenInput {
  /** 1 to 64 characters, shown in lists; not unique. */
  name: string
  /** When the key stops working; never when unset. */
  expiresAt?: Date | undefined
}

function toApiTokenInfo(row: ApiToken): ApiTokenInfo {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  }
}

/**
 * Who is logging in from where: the address is counted alongside the username when a login
 * fails; both are written to the audit log.
 */
export interface LoginOptions extends RequestMeta {
  /** How the credentials are exchanged, for the audit log (`jwt`, `api_token`, `session`, `sliding`). */
  via?: string | undefined
}

/**
 * What the service's feature modules (sessions, sliding tokens, audit) share with it, so each
 * lives in its own file and is spread into the service object.
 */
export interface ServiceCore {
  db: Db
  clock: Clock
  /** bcrypt rounds. */
  cost: number
  tokens: TokenSettings
  /** The one password check behind every credential exchange; see `checkLogin` below. */
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

export interface RegisterInput {
  username: string
  password: string
  email?: string | undefined
}

export interface CreateUserInput extends RegisterInput {
  isStaff?: boolean
  isSuperuser?: boolean
  /** The CLI may skip Django's validators, as `createsuperuser` asks before doing so. */
  skipValidation?: boolean
}

export type AuthService = Awaited<ReturnType<typeof createAuthService>>

/**
 * @example
 * const auth = await createAuthService({ db, jwt: { algorithm: 'EdDSA' } })
 * const { access, refresh, user } = await auth.login({ username: 'alice', password: '…' })
 */
export async function createAuthService(opts: AuthServiceOptions) {
  const { db } = opts
  const clock = opts.clock ?? systemClock
  const cost = opts.passwordHashCost ?? 12
  const validators = opts.passwordValidators ?? DEFAULT_PASSWORD_VALIDATORS
  const secrets = new SecretBox({ secretKey: opts.secretKey, fallbacks: opts.secretKeyFallbacks })
  const floor = opts.passwordFailureFloor
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
  const loginFailureRate =
    opts.loginFailureRate === undefined ? { limit: 10, windowSeconds: 900 } : opts.loginFailureRate
  // This process's fast path for refused keys; the counts themselves live in the database.
  const throttleState = new ThrottleState()
  // Concurrent requests' counts share one upsert (exact; see HitBatch).
  const throttleBatch = new HitBatch(db)
  const loginGuard = new LoginGuard({
    db,
    clock,
    rate: loginFailureRate,
    state: throttleState,
    delay: opts.loginDelay,
    sleep: opts.sleep,
  })
  const lastUsedIntervalMs = (opts.apiTokenLastUsedIntervalSeconds ?? 60) * 1000
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

  async function requireUser(username: string) {
    const row = await findUserByUsername(db, username)
    if (!row) throw new AuthError('NOT_FOUND', { message: `No user named "${username}".` })
    return row
  }

  function checkNewPassword(password: string, user: { username: string; email?: string | undefined }) {
    const messages = validatePassword(password, { username: user.username, email: user.email ?? '' }, validators)
    if (messages.length > 0) throw new AuthError('PASSWORD_INVALID', { fieldErrors: { password: messages } })
  }

  /**
   * The one password check behind every credential exchange (auth.login, auth.tokens.obtain).
   * Unknown user, wrong password and inactive user give the same error after the same work (one
   * bcrypt comparison), so the answer reveals nothing about which it was. Failures are counted
   * (LoginGuard): a used-up (username, address) or address is THROTTLED before any password is
   * checked; a name with many failures is only delayed. Successes are never counted and reset
   * nothing.
   */
  async function checkLogin(input: { username: string; password: string }, opts: LoginOptions): Promise<AuthUser> {
    const meta = { address: opts.address, userAgent: opts.userAgent }
    // Every spelling of a name counts against the one name: "ｖictim" is "victim" (NFKC).
    const username = normalizeUsername(input.username)
    const failed = (userId: number | null, why: string) =>
      audit({
        event: 'login.failed',
        userId,
        username,
        ...meta,
        detail: { via: opts.via ?? 'jwt', why },
      })
    const attempt = await loginGuard.admit(username, opts.address).catch(async (error: unknown) => {
      await failed(null, 'throttled')
      throw error
    })
    const row = await findUserByUsername(db, username)
    await pbkdf2Measured
    if (!row) {
      await verifyDummyPassword(input.password, { cost, floor })
      await failed(null, 'unknown_user')
      throw new AuthError('INVALID_CREDENTIALS') // the reserved slots stay counted as failures
    }
    const { valid, needsRehash } = await verifyPassword(input.password, row.password, { cost, floor })
    if (!valid || !row.is_active) {
      await failed(row.id, valid ? 'inactive' : 'wrong_password')
      throw new AuthError('INVALID_CREDENTIALS')
    }
    await attempt.release()
    const update: { last_login: Date; password?: string } = { last_login: clock() }
    if (needsRehash) update.password = await hashPassword(input.password, { cost })
    await updateUser(db, row.id, update)
    afterWrite()
    const user = await loadUser(row.id)
    if (!user) throw new AuthError('INVALID_CREDENTIALS') // deleted between the two reads
    await audit({
      event: 'login.succeeded',
      userId: user.id,
      username: user.username,
      ...meta,
      detail: { via: opts.via ?? 'jwt' },
    })
    return user
  }

  async function createUser(input: CreateUserInput): Promise<PublicUser> {
    // Stored as Django stores it (NFKC), so a look-alike of a taken name is that name, and taken.
    const username = normalizeUsername(input.username)
    const usernameError = checkUsername(username)
    if (usernameError) throw new AuthError('INVALID_INPUT', { fieldErrors: { username: [usernameError] } })
    if (!input.skipValidation) checkNewPassword(input.password, { ...input, username })
    // Cheap duplicate check first, so a taken name costs no hash; the insert stays the arbiter.
    if (await findUserByUsername(db, username)) throw usernameTaken()
    const row = await insertUser(db, {
      username,
      email: input.email ?? '',
      password: await hashPassword(input.password, { cost }),
      is_staff: input.isStaff ?? false,
      is_superuser: input.isSuperuser ?? false,
    })
    if (!row) throw usernameTaken()
    return toPublicUser(toAuthUser(row, []))
  }

  // The DRF key's HMAC keys: SECRET_KEY's first, then its fallbacks' (tokens/drf-token.ts).
  const drfKeys = secrets.derive(DRF_TOKEN_PURPOSE)

  /** The user's DRF key (tokens/obtain-drf-token.ts). */
  const drfTokenFor = (userId: number) => obtainDrfToken(db, { userId, hmacKeys: drfKeys, now: clock() })

  const core: ServiceCore = { db, clock, cost, tokens, checkLogin, loadUser, cachedUser, cache, bus, audit, afterWrite }

  return {
    db,
    keys,
    /** Encrypts the secrets stored in the database under the secret key (the OAuth server's too). */
    secrets,
    clock,
    tokens,
    /** Writes one audit event; never throws (see audit/audit.ts). */
    audit,
    /** For feature modules and tests; not a stable API. */
    core,

    /**
     * Resolves once every credential change committed before the call has reached this process's
     * cache (a NOTIFY round trip; at once when caching is off). The server awaits it after every
     * mutation, so a revocation is in force here before its response leaves.
     */
    settle: (): Promise<void> => bus?.sync() ?? Promise.resolve(),

    /**
     * The issuer when `jwt.issuer` was not given: the server's public URL, known once it listens
     * (as the OAuth issuer's default is). Call it before the first token is signed or verified.
     */
    setDefaultIssuer(url: string): void {
      if (opts.jwt.issuer === undefined) tokens.issuer = url
    },

    /** Stops the cache's LISTEN connection. The pool stays the caller's to close. */
    close: async (): Promise<void> => {
      await bus?.close()
    },

    /** auth.register: a plain user, Django's password validators applied. */
    register: (input: RegisterInput) => createUser(input),

    /**
     * auth.tokens.register (DRF's register answering `{username, token}`): auth.register, then
     * the new user's default API key, as auth.tokens.obtain makes it.
     */
    async registerWithApiToken(input: RegisterInput, meta: RequestMeta = {}) {
      const user = await createUser(input)
      const drf = await drfTokenFor(user.id)
      const detail = { id: drf.id, name: 'default', via: 'register' }
      await audit({ event: 'api_token.created', userId: user.id, username: user.username, ...meta, detail })
      afterWrite()
      return { user, token: drf.key }
    },

    /** createsuperuser and tests: staff/superuser flags, optional validator bypass. */
    createUser,

    /**
     * auth.login: a JWT pair for a username and password. The check is `checkLogin`'s: the same
     * answer and work for every kind of failure, with brute-force protection.
     */
    async login(
      input: { username: string; password: string },
      opts: LoginOptions = {},
    ): Promise<TokenPair & { user: PublicUser }> {
      const user = await checkLogin(input, opts)
      const pair = await issueTokenPair(db, tokens, user.id)
      return { ...pair, user: toPublicUser(user) }
    },

    /**
     * auth.tokens.obtain, DRF's obtain_auth_token: the user's DRF key (40 hex) for a username and
     * password, checked exactly as `login` checks them (same brute-force protection). The same key
     * on every call, as DRF's get_or_create, though only its digest is stored: it is derived again
     * (tokens/drf-token.ts). It changes only when revoked.
     */
    async obtainApiToken(input: { username: string; password: string }, opts: LoginOptions = {}) {
      const user = await checkLogin(input, { via: 'api_token', ...opts })
      const drf = await drfTokenFor(user.id)
      if (drf.created) {
        await audit({
          event: 'api_token.created',
          userId: user.id,
          address: opts.address,
          userAgent: opts.userAgent,
          detail: { id: drf.id, name: 'default', via: 'obtain' },
        })
      }
      return { token: drf.key }
    },

    /** auth.tokens.create: a new named key, returned this once. */
    async createApiToken(
      userId: number,
      input: CreateApiTokenInput,
      meta: RequestMeta = {},
    ): Promise<{ key: string; token: ApiTokenInfo }> {
      if (input.expiresAt && input.expiresAt.getTime() <= clock().getTime()) {
        throw new AuthError('INVALID_INPUT', { fieldErrors: { expiresAt: ['Ensure this date is in the future.'] } })
      }
      const generated = generateApiToken()
      const row = await insertApiToken(db, {
        id: generated.id,
        user_id: userId,
        name: input.name,
        secret_hash: generated.secretHash,
        created_at: clock(),
        expires_at: input.expiresAt ?? null,
      })
      await audit({ event: 'api_token.created', userId, ...meta, detail: { id: row.id, name: row.name } })
      return { key: generated.key, token: toApiTokenInfo(row) }
    },

    listApiTokens: async (userId: number): Promise<ApiTokenInfo[]> =>
      (await findUserApiTokens(db, userId)).map(toApiTokenInfo),

    /**
     * Revokes one of the user's keys; another user's key is NOT_FOUND, as a missing one is. The DRF
     * key's nonce is replaced with it, so the next login derives another key, not this one again.
     */
    async revokeApiToken(userId: number, id: string, meta: RequestMeta = {}): Promise<void> {
      const deleted = await db.transaction().execute(async (trx) => {
        await lockDrfKeyNonce(trx, userId, 'update')
        const row = await deleteApiToken(trx, userId, id)
        if (row?.is_default) await renewDrfKeyNonce(trx, userId)
        return row
      })
      if (!deleted) throw new AuthError('NOT_FOUND')
      await audit({ event: 'api_token.revoked', userId, ...meta, detail: { id } })
    },

    /**
     * Revokes every key of the user (knox's logoutall), the DRF key for good (a new nonce); returns
     * how many there were.
     */
    async revokeAllApiTokens(userId: number, meta: RequestMeta = {}): Promise<number> {
      const count = await db.transaction().execute(async (trx) => {
        await renewDrfKeyNonce(trx, userId) // the user's row first, as a login locks it
        return deleteUserApiTokens(trx, userId)
      })
      await audit({ event: 'api_token.revoked', userId, ...meta, detail: { count } })
      return count
    },

    /**
     * Token authentication: a key names an active user, or this throws with DRF's messages. An
     * unknown, wrong, malformed or expired key is the same `Invalid token.`; the user is read
     * again on every request, so deactivation takes effect at once.
     */
    async authenticateApiToken(key: string): Promise<AuthUser> {
      const parsed = parseApiToken(key)
      if (!parsed) throw new AuthError('API_TOKEN_INVALID')
      let row = cache?.apiToken(parsed.id)
      if (!row) {
        const ticket = cache?.ticket() ?? -1
        row = await findApiToken(db, parsed.id)
        if (row) cache?.putApiToken(row, ticket)
      }
      if (!row || !verifyApiTokenSecret(parsed.secret, row.secret_hash)) throw new AuthError('API_TOKEN_INVALID')
      const now = clock()
      if (row.expires_at && row.expires_at.getTime() <= now.getTime()) throw new AuthError('API_TOKEN_INVALID')
      const user = (await cachedUser(row.user_id))?.user
      if (!user?.isActive) throw new AuthError('API_TOKEN_USER_INACTIVE')
      // Throttled write: skipped entirely while the recorded use is recent.
      const staleBefore = new Date(now.getTime() - lastUsedIntervalMs)
      if (!row.last_used_at || row.last_used_at.getTime() <= staleBefore.getTime()) {
        await touchApiToken(db, row.id, { now, staleBefore })
      }
      return user
    },

    async refresh(refresh: string, meta: RequestMeta = {}) {
      const pair = await rotateRefreshToken(db, tokens, { token: refresh, audit, ...meta })
      afterWrite()
      return pair
    },

    logout: (refresh: string, meta: RequestMeta = {}) =>
      revokeRefreshToken(db, tokens, { token: refresh, audit, ...meta }),

    verify: (token: string): Promise<VerifiedToken> => checkToken(db, tokens, token),

    /**
     * Bearer authentication: an access or sliding token names an active user and carries their
     * current token epoch, or this throws (see tokens/epoch.ts). One query per request.
     */
    async authenticateAccessToken(token: string): Promise<AuthUser> {
      if (!cache) return authenticateJwt(db, tokens, token)
      let verified = cache.token(token)
      if (!verified) {
        const ticket = cache.ticket()
        verified = await verifyWith(tokens, token, ['access', 'sliding'])
        // A sliding token is checked against the blacklist on every use: never cached.
        if (verified.tokenType !== 'access') return authenticateVerifiedJwt(db, verified)
        cache.putToken(token, verified, ticket)
      }
      const entry = await cachedUser(verified.userId)
      if (!entry) throw new AuthError('USER_NOT_FOUND')
      if (!entry.user.isActive) throw new AuthError('USER_INACTIVE')
      assertCurrentEpoch(verified, entry.epoch)
      return entry.user
    },

    /**
     * auth.logoutAll: the user's access and sliding tokens stop at their next request, their
     * refresh and sliding tokens are blacklisted and their sessions deleted. API keys stay.
     */
    async logoutAll(user: { id: number; username: string }, meta: RequestMeta = {}): Promise<void> {
      await logoutEverywhere(db, user.id)
      await audit({ event: 'logout.everywhere', userId: user.id, username: user.username, ...meta })
    },

    ...slidingService(core),

    /** Server-side sessions behind the `sessionid` cookie (sessions/service.ts). */
    ...sessionService(core, opts.sessions),

    loadUser,

    async changePassword(
      username: string,
      password: string,
      opts2: { skipValidation?: boolean; meta?: RequestMeta; via?: string } = {},
    ) {
      const row = await requireUser(username)
      if (!opts2.skipValidation) checkNewPassword(password, row)
      const hash = await hashPassword(password, { cost })
      // A new password ends every login: access and sliding tokens by the epoch, refresh and
      // sliding tokens by the blacklist, sessions (ours and the OAuth server's sign-ins) by deletion
      // (Django: update_session_auth_hash elsewhere).
      await db.transaction().execute(async (trx) => {
        await updateUser(trx, row.id, { password: hash })
        await bumpTokenEpoch(trx, row.id)
        await blacklistUserTokens(trx, row.id)
        await deleteUserSessions(trx, row.id)
        await deleteUserOAuthSessions(trx, row.id)
      })
      const detail = opts2.via ? { via: opts2.via } : {}
      await audit({ event: 'password.changed', userId: row.id, username: row.username, ...opts2.meta, detail })
    },

    async createGroup(name: string) {
      const trimmed = name.trim()
      if (!trimmed || trimmed.length > 150) {
        throw new AuthError('INVALID_INPUT', { fieldErrors: { name: ['Enter a group name of 1 to 150 characters.'] } })
      }
      return ensureGroup(db, trimmed)
    },

    async addToGroup(username: string, groupName: string) {
      const user = await requireUser(username)
      const group = await findGroupByName(db, groupName)
      if (!group) throw new AuthError('NOT_FOUND', { message: `No group named "${groupName}".` })
      const added = await insertUserGroup(db, user.id, group.id)
      // A role change: access tokens stop, refresh tokens carry on with the new epoch.
      if (added) await bumpTokenEpoch(db, user.id)
      return added
    },

    async removeFromGroup(username: string, groupName: string) {
      const user = await requireUser(username)
      const group = await findGroupByName(db, groupName)
      if (!group) throw new AuthError('NOT_FOUND', { message: `No group named "${groupName}".` })
      const removed = await deleteUserGroup(db, user.id, group.id)
      if (removed) await bumpTokenEpoch(db, user.id)
      return removed
    },

    /** flushexpiredtokens: expired outstanding tokens, sessions and API keys, counted. */
    flushExpiredTokens: () => pruneExpired(db, clock()),

    /** Resolves once a background prune in progress is over (tests, shutdown). */
    pruneSettled: () => pruner.settled(),

    rotateKeys: () => keys.rotate(),

    /**
     * gatehouse retirekey: the key stops signing and verifying (see KeyRing.retire), in this
     * process once this resolves. Tokens it verified are dropped here rather than when the
     * retirement's NOTIFY comes back: until then the cache would still serve them.
     */
    async retireKey(kid: string): Promise<void> {
      await keys.retire(kid)
      cache?.keysChanged()
    },

    /**
     * Counts one request against `key` at `rate` (the server's throttle middleware), in the
     * database shared by every process, with this process's fast path for refused keys and its
     * concurrent requests' counts sent together.
     */
    throttle: (key: string, rate: Rate): Promise<ThrottleResult> =>
      hitCounter(db, { key, ...rate, clock, state: throttleState, batch: throttleBatch }),
  }
}

function usernameTaken() {
  return new AuthError('USERNAME_TAKEN', { fieldErrors: { username: ['A user with that username already exists.'] } })
}
