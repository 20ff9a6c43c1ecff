/**
 * The client's hold on its credentials (stored tokens, or cookie mode's cookies), and the one
 * place a refresh is spent.
 *
 * Refresh tokens rotate, and the server treats a rotated token presented again as theft and
 * revokes its whole family; a refresh cookie is the same token. So two refreshes of the same
 * credential must never race: every refresh (automatic or `client.auth.refresh()`) joins the
 * single one in flight.
 */
import type { GatehouseRouter } from '../router.js'
import type { TokenStorage, Tokens } from '../storage/token-storage.js'
import { TRPCClientError } from '@trpc/client'

import { isGatehouseError } from '../errors.js'
import { toTokens } from '../storage/token-storage.js'

/** What the refresh link needs: a generation to compare, and one refresh for many callers. */
export interface Refresher {
  /** Bumped whenever the credentials change, so a caller can tell whether they did since it looked. */
  readonly generation: number
  /**
   * Gets fresh credentials, once for all concurrent callers, and resolves with the server's
   * answer.
   */
  refresh(): Promise<unknown>
  /**
   * For a call sent at `generation` that found its access token expired: resolves once fresh
   * credentials are in place (refreshing only if nobody has since), rejects if they cannot be had.
   */
  refreshSince(generation: number): Promise<void>
  /** Resolves when no refresh is in flight. */
  settled(): Promise<void>
}

/**
 * Where a client's `Authorization` comes from when something other than a login holds it (the
 * service client's client-credentials tokens): sent on every call but the token endpoints, and
 * renewed through the same single-flight refresher when a call finds it expired.
 */
export interface BearerSource extends Refresher {
  /** The `Authorization` value for the next call (renewed first when it is about to expire). */
  authorization(): Promise<string>
}

export interface Session extends Refresher {
  tokens(): Promise<Tokens | null>
  set(tokens: Tokens): Promise<void>
  clear(): Promise<void>
  /**
   * When (on the client's clock, ms) this client stored `token` from a server's answer;
   * undefined for a token it did not receive itself (read back from persistent storage).
   */
  receivedAt(token: string): number | undefined
  /**
   * For a call sent at `generation` whose token the server refused for good (sliding mode:
   * expired or blacklisted, which no refresh repairs): resolves `true` if other tokens have been
   * stored since (send the call again with them), otherwise forgets the dead token, unless
   * something replaced it meanwhile, and resolves `false`.
   */
  discardSince(generation: number): Promise<boolean>
}

export interface SessionOptions {
  storage: TokenStorage
  /** The refresh procedure, named in the error a refresh with nothing stored rejects with. */
  path: string
  /** Trades the stored refresh token on the server: `auth.refresh`, or `auth.sliding.refresh`. */
  exchange(refresh: string): Promise<unknown>
  /** The tokens to store from the server's answer to `exchange`. @default toTokens */
  tokensOf?(answer: unknown): Tokens | null
  /** Called whenever the tokens are cleared: logout, or a refresh token the server refused. */
  onClear?(): void
  /** The client's clock, in ms, for `receivedAt`. @default Date.now */
  now?(): number
}

export function createSession(opts: SessionOptions): Session {
  const { storage } = opts
  const now = () => (opts.now ? opts.now() : Date.now())
  let generation = 0
  // Only the latest answer is worth remembering: it is the token that is stored.
  let received: { token: string; at: number } | undefined

  async function write(tokens: Tokens | null) {
    generation += 1
    received = tokens ? { token: tokens.access, at: now() } : undefined
    if (tokens) {
      await storage.set(tokens)
    } else {
      opts.onClear?.()
      await storage.clear()
    }
  }

  async function runRefresh(): Promise<unknown> {
    const startedAt = generation
    const stored = toTokens(await storage.get())
    let answer: unknown
    try {
      if (!stored) throw notAuthenticated(opts.path)
      answer = await opts.exchange(stored.refresh)
    } catch (error) {
      if (generation === startedAt && isRejection(error)) await write(null)
      throw error
    }
    const next = (opts.tokensOf ?? toTokens)(answer)
    // A login or logout that landed meanwhile wins: do not resurrect or overwrite its tokens.
    if (generation === startedAt) await write(next)
    // The server has rotated the stored token by now, so without new tokens nothing is usable.
    if (!next) throw new TypeError(`${opts.path} answered without tokens`)
    return answer
  }

  const refresher = createRefresher({ generation: () => generation, run: runRefresh })
  return {
    get generation() {
      return generation
    },
    refresh: () => refresher.refresh(),
    refreshSince: (sentAt) => refresher.refreshSince(sentAt),
    settled: () => refresher.settled(),
    async tokens() {
      return toTokens(await storage.get())
    },
    set: (tokens) => write(tokens),
    clear: () => write(null),
    receivedAt: (token) => (received?.token === token ? received.at : undefined),
    async discardSince(sentAt) {
      await refresher.settled()
      if (generation === sentAt) {
        await write(null)
        return false
      }
      return toTokens(await storage.get()) !== null
    },
  }
}

export interface CookieSession extends Refresher {
  /** The cookies changed (a login, a logout): calls that failed before then retry without a refresh. */
  changed(): void
}

/**
 * Cookie mode's session: the credentials are cookies the client cannot read (httpOnly), so a
 * refresh presents none; `exchange` calls `auth.refresh` and the server reads the `refresh`
 * cookie. It rotates like a stored token, hence the same single flight.
 */
export function createCookieSession(opts: { exchange(): Promise<unknown>; onRejected(): void }): CookieSession {
  let generation = 0
  const refresher = createRefresher({
    generation: () => generation,
    async run() {
      const startedAt = generation
      try {
        const answer = await opts.exchange()
        if (generation === startedAt) generation += 1
        return answer
      } catch (error) {
        if (generation === startedAt && isRejection(error)) {
          generation += 1
          opts.onRejected()
        }
        throw error
      }
    },
  })
  return {
    get generation() {
      return generation
    },
    refresh: () => refresher.refresh(),
    refreshSince: (sentAt) => refresher.refreshSince(sentAt),
    settled: () => refresher.settled(),
    changed() {
      generation += 1
    },
  }
}

/**
 * The single flight behind every refresh: `run` starts only when none is in flight, and every
 * caller meanwhile shares its outcome.
 */
export function createRefresher(opts: { generation(): number; run(): Promise<unknown> }): Refresher {
  let inFlight: Promise<unknown> | undefined
  const refresher: Refresher = {
    get generation() {
      return opts.generation()
    },
    refresh() {
      inFlight ??= opts.run().finally(() => {
        inFlight = undefined
      })
      return inFlight
    },
    async refreshSince(sentAt) {
      // The credentials changed after the call went out (a refresh finished, or a login): just retry.
      if (opts.generation() !== sentAt && !inFlight) return
      await refresher.refresh()
    },
    async settled() {
      await inFlight?.catch(() => undefined)
    },
  }
  return refresher
}

/**
 * The server looked at the refresh token and said no (401: invalid, expired, blacklisted; 400:
 * malformed). Anything else (network, 5xx) says nothing about the token, so it is kept.
 */
export function isRejection(error: unknown): boolean {
  return isGatehouseError(error) && (error.data.httpStatus === 401 || error.data.httpStatus === 400)
}

/** What the server would answer to a call without credentials, for calls we need not send. */
export function notAuthenticated(path: string): TRPCClientError<GatehouseRouter> {
  const message = 'Authentication credentials were not provided.'
  return new TRPCClientError(message, {
    result: {
      error: {
        code: -32_001,
        message,
        data: { code: 'UNAUTHORIZED', httpStatus: 401, path, reason: 'NOT_AUTHENTICATED' },
      },
    },
  })
}
