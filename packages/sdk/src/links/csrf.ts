/**
 * Cookie mode's one CSRF recovery: a mutation refused because the `csrftoken` cookie was missing
 * (cleared by the user, expired after its year) is answered with a new one, so it is sent again,
 * once, with that token.
 */
import type { TRPCLink } from '@trpc/client'
import type { AnyTRPCRouter } from '@trpc/server'
import type { Unsubscribable } from '@trpc/server/observable'
import { observable } from '@trpc/server/observable'

import { isGatehouseError } from '../errors.js'

/** Django's message, which the server sends as is; the other CSRF refusals are not retried. */
const COOKIE_NOT_SET = 'CSRF Failed: CSRF cookie not set.'

export interface CsrfRetryLinkOptions {
  /** Whether the client now holds a token to send; without one a retry would fail the same way. */
  hasToken(): boolean
}

/**
 * A tRPC link that retries a call once when the server refused it with 403 `CSRF_FAILED`, "CSRF
 * cookie not set.", and the client has a token now.
 *
 * @example
 * ```ts
 * createTRPCClient({ links: [csrfRetryLink({ hasToken: () => jar.get('csrftoken', url) !== undefined }), httpLink(…)] })
 * ```
 */
export function csrfRetryLink<TRouter extends AnyTRPCRouter>(opts: CsrfRetryLinkOptions): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let current: Unsubscribable | undefined

        function send(isRetry: boolean) {
          current = next(op).subscribe({
            next(envelope) {
              observer.next(envelope)
            },
            error(error) {
              if (isRetry || !isCookieNotSet(error) || !opts.hasToken()) observer.error(error)
              else send(true)
            },
            complete() {
              observer.complete()
            },
          })
        }

        send(false)
        return () => current?.unsubscribe()
      })
}

function isCookieNotSet(error: unknown): boolean {
  return isGatehouseError(error) && error.data.reason === 'CSRF_FAILED' && error.message === COOKIE_NOT_SET
}
