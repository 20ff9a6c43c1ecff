/**
 * The auth service: every operation the server and the CLI need, over one database and one key
 * ring, with no HTTP in sight. The server adapts it to tRPC; the CLI calls it directly.
 */
import type { ApiToken } from '@gatehouse/db'

import type { RequestMeta } from './audit/audit.js'
import type { LoginOptions, ServiceCore } from './core.js'
import type { AuthServiceOptions } from './options.js'
import type { Rate, ThrottleResult } from './throttle/index.js'
import type { AuthUser } from './users/user.js'
import { createCore } from './core.js'
import { AuthError } from './errors.js'
import { pruneExpired } from './maintenance/prune.js'
import { sessionService } from './sessions/service.js'
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
import { bumpTokenEpoch } from './store/epoch.repository.js'
import { deleteUserGroup, ensureGroup, findGroupByName, insertUserGroup } from './store/group.repository.js'
import { hitCounter } from './throttle/index.js'
import { generateApiToken, parseApiToken, verifyApiTokenSecret } from './tokens/api-token.js'
import { DRF_TOKEN_PURPOSE } from './tokens/drf-token.js'
import { obtainDrfToken } from './tokens/obtain-drf-token.js'
import { jwtService } from './tokens/jwt-service.js'
import { slidingService } from './tokens/sliding.js'
import { loginCheck } from './users/login.js'
import { requireUser } from './users/require-user.js'
import { userService, type RegisterInput } from './users/service.js'

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

export type AuthService = Awaited<ReturnType<typeof createAuthService>>

/**
 * @example
 * const auth = await createAuthService({ db, jwt: { algorithm: 'EdDSA' } })
 * const { access, refresh, user } = await auth.login({ username: 'alice', password: '…' })
 */
export async function createAuthService(opts: AuthServiceOptions) {
  const base = await createCore(opts)
  const { db, clock, cost, tokens, keys, secrets, cache, bus, audit, pruner } = base
  const { afterWrite, loadUser, cachedUser, throttleState, throttleBatch } = base
  const lastUsedIntervalMs = (opts.apiTokenLastUsedIntervalSeconds ?? 60) * 1000

  // The DRF key's HMAC keys: SECRET_KEY's first, then its fallbacks' (tokens/drf-token.ts).
  const drfKeys = secrets.derive(DRF_TOKEN_PURPOSE)

  /** The user's DRF key (tokens/obtain-drf-token.ts). */
  const drfTokenFor = (userId: number) => obtainDrfToken(db, { userId, hmacKeys: drfKeys, now: clock() })

  const checkLogin = loginCheck(base, opts)
  const core: ServiceCore = { db, clock, cost, tokens, checkLogin, loadUser, cachedUser, cache, bus, audit, afterWrite }
  const users = userService(core, opts)
  const { createUser } = users

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

    ...users,

    ...jwtService(core),

    ...slidingService(core),

    /** Server-side sessions behind the `sessionid` cookie (sessions/service.ts). */
    ...sessionService(core, opts.sessions),

    async createGroup(name: string) {
      const trimmed = name.trim()
      if (!trimmed || trimmed.length > 150) {
        throw new AuthError('INVALID_INPUT', { fieldErrors: { name: ['Enter a group name of 1 to 150 characters.'] } })
      }
      return ensureGroup(db, trimmed)
    },

    async addToGroup(username: string, groupName: string) {
      const user = await requireUser(db, username)
      const group = await findGroupByName(db, groupName)
      if (!group) throw new AuthError('NOT_FOUND', { message: `No group named "${groupName}".` })
      const added = await insertUserGroup(db, user.id, group.id)
      // A role change: access tokens stop, refresh tokens carry on with the new epoch.
      if (added) await bumpTokenEpoch(db, user.id)
      return added
    },

    async removeFromGroup(username: string, groupName: string) {
      const user = await requireUser(db, username)
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
