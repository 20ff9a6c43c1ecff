/**
 * Auto-refresh: a call that fails because its access token expired (or was revoked by a token
 * epoch bump) waits for fresh tokens and is sent again, once. However many calls fail together,
 * the stored refresh token is spent once (see internal/session.ts for why that matters).
 */
import type { TRPCLink } from '@trpc/client'
import type { AnyTRPCRouter } from '@trpc/server'
import type { Unsubscribable } from '@trpc/server/observable'
import { observable } from '@trpc/server/observable'

import { isAccessTokenStale } from '../errors.js'

export interface RefreshLinkOptions {
  /** The token generation now; a call notes it when it goes out. */
  generation(): number
  /** Resolves when fresh tokens are stored for a call sent at `generation`; rejects if none can be had. */
  refreshSince(generation: number): Promise<void>
  /** Calls never retried: the token endpoints themselves, whose 401s mean what they say. */
  skip(path: string): boolean
  /**
   * Whether a failure is worth a refresh.
   * @default isAccessTokenStale (401 `TOKEN_EXPIRED` or `TOKEN_REVOKED`)
   */
  shouldRefresh?(error: unknown): boolean
}

/**
 * A tRPC link that retries a call once, after a refresh, when it failed with `UNAUTHORIZED` and
 * reason `TOKEN_EXPIRED` or `TOKEN_REVOKED` (or whatever `shouldRefresh` accepts). If the refresh
 * fails, the call fails with its original error.
 *
 * @example
 * ```ts
 * createTRPCUntypedClient({
 *   links: [refreshLink({ generation: () => session.generation, refreshSince: session.refreshSince, skip }), httpBatchLink(…)],
 * })
 * ```
 */
export function refreshLink<TRouter extends AnyTRPCRouter>(opts: RefreshLinkOptions): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        const sentAt = opts.generation()
        let current: Unsubscribable | undefined
        let stopped = false

        function send(isRetry: boolean) {
          current = next(op).subscribe({
            next(envelope) {
              observer.next(envelope)
            },
            error(error) {
              const worthIt = (opts.shouldRefresh ?? isAccessTokenStale)(error)
              if (isRetry || stopped || opts.skip(op.path) || !worthIt) {
                observer.error(error)
                return
              }
              opts.refreshSince(sentAt).then(
                () => {
                  if (!stopped) send(true)
                },
                // The refresh's own failure is not what the caller asked about: report theirs.
                () => observer.error(error),
              )
            },
            complete() {
              observer.complete()
            },
          })
        }

        send(false)
        return () => {
          stopped = true
          current?.unsubscribe()
        }
      })
}
