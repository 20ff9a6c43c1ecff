/**
 * The client's hold on its token storage, and the one place a stored refresh token is spent.
 *
 * Refresh tokens rotate, and the server treats a rotated token presented again as theft and
 * revokes its whole family. So two refreshes of the same stored token must never race: every
 * refresh that uses the stored token (automatic or `client.auth.refresh()`) joins the single one
 * in flight.
 */
import type { GatehouseRouter } from '../router.js'
import type { TokenStorage, Tokens } from '../storage/token-storage.js'
import { TRPCClientError } from '@trpc/client'

import { isGatehouseError } from '../errors.js'
import { toTokens } from '../storage/token-storage.js'

export interface Session {
  /** Bumped on every write, so a caller can tell whether the tokens changed since it looked. */
  readonly generation: number
  tokens(): Promise<Tokens | null>
  set(tokens: Tokens): Promise<void>
  clear(): Promise<void>
  /**
   * Trades the stored refresh token for a new pair, once for all concurrent callers, stores the
   * pair and resolves with the server's answer.
   */
  refresh(): Promise<unknown>
  /**
   * For a call sent at `generation` that found its access token expired: resolves once fresh
   * tokens are stored (refreshing only if nobody has since), rejects if they cannot be had.
   */
  refreshSince(generation: number): Promise<void>
  /** Resolves when no refresh is in flight. */
  settled(): Promise<void>
}

export interface SessionOptions {
  storage: TokenStorage
  /** Calls `auth.refresh` on the server. */
  exchange(refresh: string): Promise<unknown>
  /** Called whenever the tokens are cleared: logout, or a refresh token the server refused. */
  onClear?(): void
}

export function createSession(opts: SessionOptions): Session {
  const { storage } = opts
  let generation = 0
  let inFlight: Promise<unknown> | undefined

  async function write(tokens: Tokens | null) {
    generation += 1
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
      if (!stored) throw notAuthenticated('auth.refresh')
      answer = await opts.exchange(stored.refresh)
    } catch (error) {
      if (generation === startedAt && isRejection(error)) await write(null)
      throw error
    }
    const next = toTokens(answer)
    // A login or logout that landed meanwhile wins: do not resurrect or overwrite its tokens.
    if (generation === startedAt) await write(next)
    // The server has rotated the stored token by now, so without a new pair nothing is usable.
    if (!next) throw new TypeError('auth.refresh answered without an access/refresh pair')
    return answer
  }

  const session: Session = {
    get generation() {
      return generation
    },
    async tokens() {
      return toTokens(await storage.get())
    },
    set: (tokens) => write(tokens),
    clear: () => write(null),
    refresh() {
      inFlight ??= runRefresh().finally(() => {
        inFlight = undefined
      })
      return inFlight
    },
    async refreshSince(sentAt) {
      // The tokens changed after the call went out (a refresh finished, or a login): just retry.
      if (generation !== sentAt && !inFlight) return
      await session.refresh()
    },
    async settled() {
      await inFlight?.catch(() => undefined)
    },
  }
  return session
}

/**
 * The server looked at the refresh token and said no (401: invalid, expired, blacklisted; 400:
 * malformed). Anything else (network, 5xx) says nothing about the token, so it is kept.
 */
function isRejection(error: unknown): boolean {
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
