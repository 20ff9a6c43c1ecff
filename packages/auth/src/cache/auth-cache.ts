/**
 * This process's caches of what authentication reads on every request: verified access tokens,
 * users (with groups and token epoch), sessions and API keys. They hold only what the database
 * says and are dropped, entry by entry, when the invalidation bus (bus.ts) reports a change, or
 * all at once when the bus is down; while it is down nothing is served from them.
 *
 * Safety rules, each with a test in auth-cache.test.ts:
 * - A verified token is never served past its `exp` (checked against the service clock on every
 *   hit) and every token is re-verified after a signing-key change.
 * - A read that started before an invalidation never stores its (possibly stale) result: fills
 *   carry the generation they started in (`ticket()`), and any invalidation moves it on.
 * - Each map is bounded; the oldest entry goes first.
 */
import type { ApiToken, Session } from '@gatehouse/db'

import type { VerifiedToken } from '../jwt/claims.js'
import type { AuthUser } from '../users/user.js'

/** A user as authentication needs them: the frozen AuthUser plus the current token epoch. */
export interface CachedUser {
  user: AuthUser
  epoch: number
}

export interface AuthCacheOptions {
  /** Per map. @default 10000 */
  maxEntries?: number | undefined
  /** Milliseconds now, by the service clock (tokens are checked against it). */
  now: () => number
}

/** A fill started while the cache could not store (bus down). */
const NO_TICKET = -1

class BoundedMap<K, V> {
  readonly #map = new Map<K, V>()
  readonly #max: number
  constructor(max: number) {
    this.#max = max
  }
  get(key: K): V | undefined {
    return this.#map.get(key)
  }
  set(key: K, value: V): void {
    if (!this.#map.has(key) && this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next()
      if (!oldest.done) this.#map.delete(oldest.value)
    }
    this.#map.set(key, value)
  }
  delete(key: K): void {
    this.#map.delete(key)
  }
  clear(): void {
    this.#map.clear()
  }
  get size(): number {
    return this.#map.size
  }
}

export class AuthCache {
  readonly #now: () => number
  readonly #tokens: BoundedMap<string, VerifiedToken>
  readonly #users: BoundedMap<number, CachedUser>
  readonly #sessions: BoundedMap<string, Session>
  readonly #apiTokens: BoundedMap<string, ApiToken>
  #generation = 0
  #live = false
  /** Called when signing keys change (the key ring re-reads before the next verification). */
  onKeysChanged: () => void = () => undefined

  constructor(opts: AuthCacheOptions) {
    const max = opts.maxEntries ?? 10_000
    if (!(Number.isSafeInteger(max) && max > 0)) throw new TypeError('AuthCache: maxEntries must be a positive integer')
    this.#now = opts.now
    this.#tokens = new BoundedMap(max)
    this.#users = new BoundedMap(max)
    this.#sessions = new BoundedMap(max)
    this.#apiTokens = new BoundedMap(max)
  }

  /** Whether entries may be served and stored (the bus is live). */
  get live(): boolean {
    return this.#live
  }

  /** The bus came up (true) or went down (false); either way everything cached is dropped. */
  setLive(live: boolean): void {
    this.reset()
    this.#live = live
  }

  /** Taken before a read whose result may be stored; `put*` ignores a ticket older than a change. */
  ticket(): number {
    return this.#live ? this.#generation : NO_TICKET
  }

  #fresh(ticket: number): boolean {
    return this.#live && ticket === this.#generation
  }

  /** A verified access token, unless it has expired by now (then it is dropped). */
  token(token: string): VerifiedToken | undefined {
    if (!this.#live) return undefined
    const verified = this.#tokens.get(token)
    if (verified === undefined) return undefined
    if (this.#now() < verified.expiresAt.getTime()) return verified
    this.#tokens.delete(token)
    return undefined
  }

  putToken(token: string, verified: VerifiedToken, ticket: number): void {
    if (this.#fresh(ticket)) this.#tokens.set(token, Object.freeze(verified))
  }

  user(id: number): CachedUser | undefined {
    return this.#live ? this.#users.get(id) : undefined
  }

  putUser(entry: CachedUser, ticket: number): void {
    if (!this.#fresh(ticket)) return
    Object.freeze(entry.user.groups)
    Object.freeze(entry.user)
    this.#users.set(entry.user.id, Object.freeze(entry))
  }

  session(id: string): Session | undefined {
    return this.#live ? this.#sessions.get(id) : undefined
  }

  putSession(row: Session, ticket: number): void {
    if (this.#fresh(ticket)) this.#sessions.set(row.id, Object.freeze(row))
  }

  apiToken(id: string): ApiToken | undefined {
    return this.#live ? this.#apiTokens.get(id) : undefined
  }

  putApiToken(row: ApiToken, ticket: number): void {
    if (this.#fresh(ticket)) this.#apiTokens.set(row.id, Object.freeze(row))
  }

  /** One change from the bus (payloads of migration 000010). */
  change(what: string): void {
    this.#generation++
    const colon = what.indexOf(':')
    const kind = colon < 0 ? what : what.slice(0, colon)
    const id = what.slice(colon + 1)
    switch (kind) {
      case 'u':
        this.#users.delete(Number(id))
        return
      case 's':
        this.#sessions.delete(id)
        return
      case 't':
        this.#apiTokens.delete(id)
        return
      case 'keys':
        this.keysChanged()
        return
      default:
        // 'all', or a payload this version does not know: the safe answer is to forget everything.
        this.reset()
    }
  }

  /**
   * The signing keys changed: every verified token is dropped (and fills in flight refused), and
   * the key ring re-reads before the next verification.
   */
  keysChanged(): void {
    this.#generation++
    this.#tokens.clear()
    this.onKeysChanged()
  }

  /** Drops everything and invalidates fills in flight. */
  reset(): void {
    this.#generation++
    this.#tokens.clear()
    this.#users.clear()
    this.#sessions.clear()
    this.#apiTokens.clear()
  }

  /** Entry counts, for tests and the bench. */
  sizes() {
    return {
      tokens: this.#tokens.size,
      users: this.#users.size,
      sessions: this.#sessions.size,
      apiTokens: this.#apiTokens.size,
    }
  }
}
