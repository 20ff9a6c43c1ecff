/**
 * API keys: DRF's TokenAuthentication key (one per user, derived again on every obtain:
 * tokens/drf-token.ts) and named keys (knox's), created, listed, revoked and authenticated.
 */
import type { ApiToken } from '@gatehouse/db'

import type { RequestMeta } from '../audit/audit.js'
import type { LoginOptions, ServiceCore } from '../core.js'
import type { SecretBox } from '../crypto/secret-box.js'
import type { AuthUser, PublicUser } from '../users/user.js'
import type { RegisterInput } from '../users/service.js'
import { AuthError } from '../errors.js'
import {
  deleteApiToken,
  deleteUserApiTokens,
  findApiToken,
  findUserApiTokens,
  insertApiToken,
  lockDrfKeyNonce,
  renewDrfKeyNonce,
  touchApiToken,
} from '../store/api-token.repository.js'
import { generateApiToken, parseApiToken, verifyApiTokenSecret } from './api-token.js'
import { DRF_TOKEN_PURPOSE } from './drf-token.js'
import { obtainDrfToken } from './obtain-drf-token.js'

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

export interface ApiTokenServiceOptions {
  /** The DRF key is derived under the secret key (and its fallbacks). */
  secrets: SecretBox
  /** auth.tokens.register makes its user as auth.register does (users/service.ts). */
  createUser(input: RegisterInput): Promise<PublicUser>
  /** AuthServiceOptions' `apiTokenLastUsedIntervalSeconds`. @default 60 */
  lastUsedIntervalSeconds?: number | undefined
}

/**
 * The API key operations, spread into the auth service.
 * @example
 * const { token } = await auth.obtainApiToken({ username, password }, ctx.meta)
 */
export function apiTokenService(core: ServiceCore, deps: ApiTokenServiceOptions) {
  const { db, clock, cache, audit } = core
  const lastUsedIntervalMs = (deps.lastUsedIntervalSeconds ?? 60) * 1000

  // The DRF key's HMAC keys: SECRET_KEY's first, then its fallbacks' (tokens/drf-token.ts).
  const drfKeys = deps.secrets.derive(DRF_TOKEN_PURPOSE)

  /** The user's DRF key (tokens/obtain-drf-token.ts). */
  const drfTokenFor = (userId: number) => obtainDrfToken(db, { userId, hmacKeys: drfKeys, now: clock() })

  return {
    /**
     * auth.tokens.register (DRF's register answering `{username, token}`): auth.register, then
     * the new user's default API key, as auth.tokens.obtain makes it.
     */
    async registerWithApiToken(input: RegisterInput, meta: RequestMeta = {}) {
      const user = await deps.createUser(input)
      const drf = await drfTokenFor(user.id)
      const detail = { id: drf.id, name: 'default', via: 'register' }
      await audit({ event: 'api_token.created', userId: user.id, username: user.username, ...meta, detail })
      core.afterWrite()
      return { user, token: drf.key }
    },

    /**
     * auth.tokens.obtain, DRF's obtain_auth_token: the user's DRF key (40 hex) for a username and
     * password, checked exactly as `login` checks them (same brute-force protection). The same key
     * on every call, as DRF's get_or_create, though only its digest is stored: it is derived again
     * (tokens/drf-token.ts). It changes only when revoked.
     */
    async obtainApiToken(input: { username: string; password: string }, opts: LoginOptions = {}) {
      const user = await core.checkLogin(input, { via: 'api_token', ...opts })
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
      const user = (await core.cachedUser(row.user_id))?.user
      if (!user?.isActive) throw new AuthError('API_TOKEN_USER_INACTIVE')
      // Throttled write: skipped entirely while the recorded use is recent.
      const staleBefore = new Date(now.getTime() - lastUsedIntervalMs)
      if (!row.last_used_at || row.last_used_at.getTime() <= staleBefore.getTime()) {
        await touchApiToken(db, row.id, { now, staleBefore })
      }
      return user
    },
  }
}
