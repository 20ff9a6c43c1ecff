/**
 * Server-side sessions, DRF's SessionAuthentication over a `sessionid` cookie: created by a
 * password login, slid forward on use, listed and revoked by their owner.
 *
 * Sliding expiry with throttled writes (lucia's sessions): every use may push `expires_at` to
 * now + age, but the row is written at most once per `touchIntervalSeconds`, by a conditional
 * UPDATE, so a busy session costs no write per request and several processes write once between
 * them. Only a use that wrote re-sends the cookie, with the new Max-Age.
 */
import type { Session } from '@gatehouse/db'

import type { RequestMeta } from '../audit/audit.js'
import type { LoginOptions, ServiceCore } from '../core.js'
import type { AuthUser, PublicUser } from '../users/user.js'
import { AuthError } from '../errors.js'
import {
  deleteSession,
  deleteUserSession,
  deleteUserSessions,
  findLiveUserSessions,
  findSession,
  insertSession,
  touchSession,
} from '../store/session.repository.js'
import { toPublicUser } from '../users/user.js'
import { generateSessionKey, parseSessionKey, verifySessionSecret } from './key.js'
import { DEFAULT_SESSION_AGE_SECONDS, type SessionOptions } from './options.js'

/** A session as its owner sees it: never the key, never the hash. */
export interface SessionInfo {
  id: string
  createdAt: string
  lastUsedAt: string
  expiresAt: string
  address: string | null
  userAgent: string | null
}

/** What a valid session key names. */
export interface VerifiedSession {
  user: AuthUser
  /** The session's public id. */
  id: string
  /**
   * Records the use and slides the expiry, unless that was done within the touch interval.
   * True when it wrote: the cookie should be sent again with the full Max-Age.
   */
  touch(): Promise<boolean>
}

function toSessionInfo(row: Session): SessionInfo {
  return {
    id: row.id,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    address: row.address,
    userAgent: row.user_agent,
  }
}

/**
 * The session operations, spread into the auth service.
 * @example
 * const { key, user } = await auth.createSession({ username, password }, ctx.meta)
 */
export function sessionService(core: ServiceCore, opts: SessionOptions = {}) {
  const { db, clock, audit } = core
  const ageSeconds = opts.ageSeconds ?? DEFAULT_SESSION_AGE_SECONDS
  const intervalMs = (opts.touchIntervalSeconds ?? 60) * 1000
  const expiryFrom = (now: Date) => new Date(now.getTime() + ageSeconds * 1000)

  /** The row a key names when its secret matches, expired or not. */
  async function rowFor(key: string): Promise<Session | undefined> {
    const parsed = parseSessionKey(key)
    if (!parsed) return undefined
    const row = await findSession(db, parsed.id)
    return row && verifySessionSecret(parsed.secret, row.secret_hash) ? row : undefined
  }

  /** `rowFor` through this process's cache (the secret is still checked on every use). */
  async function cachedRowFor(key: string): Promise<Session | undefined> {
    const parsed = parseSessionKey(key)
    if (!parsed) return undefined
    let row = core.cache?.session(parsed.id)
    if (!row) {
      const ticket = core.cache?.ticket() ?? -1
      row = await findSession(db, parsed.id)
      if (row) core.cache?.putSession(row, ticket)
    }
    return row && verifySessionSecret(parsed.secret, row.secret_hash) ? row : undefined
  }

  const revoked = (userId: number, meta: RequestMeta, detail: Record<string, unknown>) =>
    audit({ event: 'session.revoked', userId, address: meta.address, userAgent: meta.userAgent, detail })

  return {
    /** SESSION_COOKIE_AGE, for the cookie's Max-Age. */
    sessionAgeSeconds: ageSeconds,

    /**
     * auth.session.login: checks the password exactly as auth.login does (`checkLogin`, with its
     * brute-force protection and login audit) and opens a session. A valid session presented in
     * `replacing` is ended first, as Django's login cycles the session key.
     */
    async createSession(
      input: { username: string; password: string },
      meta: LoginOptions & { replacing?: string | undefined } = {},
    ): Promise<{ key: string; user: PublicUser; session: SessionInfo }> {
      const user = await core.checkLogin(input, { address: meta.address, userAgent: meta.userAgent, via: 'session' })
      const previous = meta.replacing === undefined ? undefined : await rowFor(meta.replacing)
      if (previous && (await deleteSession(db, previous.id))) {
        await revoked(previous.user_id, meta, { id: previous.id, via: 'login' })
      }
      const generated = generateSessionKey()
      const now = clock()
      const row = await insertSession(db, {
        id: generated.id,
        user_id: user.id,
        secret_hash: generated.secretHash,
        created_at: now,
        last_used_at: now,
        expires_at: expiryFrom(now),
        address: meta.address?.slice(0, 64) ?? null,
        user_agent: meta.userAgent?.slice(0, 512) ?? null,
      })
      core.afterWrite()
      await audit({
        event: 'session.created',
        userId: user.id,
        username: user.username,
        address: meta.address,
        userAgent: meta.userAgent,
        detail: { id: row.id },
      })
      return { key: generated.key, user: toPublicUser(user), session: toSessionInfo(row) }
    },

    /**
     * Session authentication: a key names a live session of an active user, or this throws. An
     * unknown, wrong, malformed or expired key is the same SESSION_INVALID; the user is read on
     * every request, so deactivation takes effect at once (USER_INACTIVE).
     */
    async authenticateSession(key: string): Promise<VerifiedSession> {
      const row = await cachedRowFor(key)
      const now = clock()
      if (!row || row.expires_at.getTime() <= now.getTime()) throw new AuthError('SESSION_INVALID')
      const user = (await core.cachedUser(row.user_id))?.user
      if (!user) throw new AuthError('SESSION_INVALID')
      if (!user.isActive) throw new AuthError('USER_INACTIVE')
      return {
        user,
        id: row.id,
        async touch() {
          const staleBefore = new Date(now.getTime() - intervalMs)
          if (row.last_used_at.getTime() > staleBefore.getTime()) return false
          return touchSession(db, row.id, { now, staleBefore, expiresAt: expiryFrom(now) })
        },
      }
    },

    /** The user's live sessions, oldest first. */
    listSessions: async (userId: number): Promise<SessionInfo[]> =>
      (await findLiveUserSessions(db, userId, clock())).map(toSessionInfo),

    /** Ends one of the user's sessions; another user's, or a missing one, is NOT_FOUND. */
    async revokeSession(userId: number, id: string, meta: RequestMeta = {}): Promise<void> {
      if (!(await deleteUserSession(db, userId, id))) throw new AuthError('NOT_FOUND')
      await revoked(userId, meta, { id, via: 'revoke' })
    },

    /** Ends every session of the user but `except` (the caller's own); returns how many. */
    async revokeOtherSessions(userId: number, except: string | undefined, meta: RequestMeta = {}): Promise<number> {
      const ids = await deleteUserSessions(db, userId, { except })
      if (ids.length > 0) await revoked(userId, meta, { ids, via: 'revoke_others' })
      return ids.length
    },

    /**
     * auth.session.logout: ends the session a key names, if the key is genuine. `beforeEnd`
     * runs first for a live session (the CSRF check) and may throw to keep it. True when a
     * session was ended.
     */
    async endSession(key: string, meta: RequestMeta = {}, beforeEnd?: () => void): Promise<boolean> {
      const row = await rowFor(key)
      if (!row) return false
      if (row.expires_at.getTime() > clock().getTime()) beforeEnd?.()
      if (!(await deleteSession(db, row.id))) return false
      await revoked(row.user_id, meta, { id: row.id, via: 'logout' })
      return true
    },

    /** Ends all of a user's sessions (password change, log out everywhere); returns how many. */
    revokeAllSessions: async (userId: number): Promise<number> => (await deleteUserSessions(db, userId)).length,
  }
}
