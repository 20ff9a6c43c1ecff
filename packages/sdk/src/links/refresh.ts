/**
 * Auto-refresh: a call that fails because its access token expired (or was revoked by a token
 * epoch bump) waits for fresh tokens and is sent again, once. However many calls fail together,
 * the stored refresh token is spent once (see internal/session.ts for why that matters). A call
 * may also wait before it goes out (`beforeSend`): sliding mode refreshes there, ahead of `exp`.
 */
import type { TRPCLink } from '@trpc/client'
import type { AnyTRPCRouter } from '@trpc/server'
import type { Unsubscribable } from '@trpc/server/observable'
import { observable } from '@trpc/server/observable'

export interface RefreshLinkOptions {
  /** The token generation now; a call notes it when it goes out. */
  generation(): number
  /**
   * What a failed call sent at `generation` is worth: resolves `true` once it may be sent again
   * (fresh credentials in place), `false` when its error stands. Rejecting counts as `false`.
   */
  recover(error: unknown, generation: number): Promise<boolean>
  /** Calls never delayed nor retried: the token endpoints themselves, whose 401s mean what they say. */
  skip(path: string): boolean
  /** Awaited before a call goes out; rejecting does not stop the call. @default none */
  beforeSend?(): Promise<void>
}

/**
 * A tRPC link that retries a call once when `recover` says a failure is worth it (after a
 * refresh, for a 401 `TOKEN_EXPIRED` or `TOKEN_REVOKED`). Otherwise the call fails with its
 * original error, whatever became of the refresh.
 *
 * @example
 * ```ts
 * createTRPCUntypedClient({
 *   links: [refreshLink({ generation: () => session.generation, recover, skip }), httpBatchLink(…)],
 * })
 * ```
 */
export function refreshLink<TRouter extends AnyTRPCRouter>(opts: RefreshLinkOptions): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let current: Unsubscribable | undefined
        let stopped = false

        function send(sentAt: number, isRetry: boolean) {
          current = next(op).subscribe({
            next(envelope) {
              observer.next(envelope)
            },
            error(error) {
              if (isRetry || stopped || opts.skip(op.path)) {
                observer.error(error)
                return
              }
              opts.recover(error, sentAt).then(
                (retry) => {
                  if (!retry) observer.error(error)
                  else if (!stopped) send(opts.generation(), true)
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

        const start = () => {
          if (!stopped) send(opts.generation(), false)
        }
        if (opts.beforeSend && !opts.skip(op.path)) opts.beforeSend().then(start, start)
        else start()
        return () => {
          stopped = true
          current?.unsubscribe()
        }
      })
}
