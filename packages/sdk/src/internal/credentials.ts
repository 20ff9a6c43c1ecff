/**
 * What the client holds its login with, what it sends for it, and when a failed call is worth a
 * refresh, per mode:
 * - `jwt` and `sliding`: tokens in storage (session.ts), sent as `Bearer`. A 401 `TOKEN_EXPIRED`
 *   or `TOKEN_REVOKED` is refreshed, once for every call that failed together, and the calls are
 *   sent again. Sliding mode refreshes ahead instead, since the server refuses to refresh a
 *   sliding token past its `exp`, and forgets a token that is past it or blacklisted.
 * - `cookie`: the server's cookies; nothing is sent here (on the server a header always wins
 *   over the cookies). A call that arrives anonymous because the access cookie ran out is
 *   refreshed through the `refresh` cookie.
 * - an API key: `Token <key>`, never refreshed (its 401 is the answer).
 * - a `BearerSource` (the service client): its `Authorization`, renewed by it.
 *
 * The refresh itself is a call like any other, through the client's own links: `call` is given
 * here before those links exist, and used only once they do.
 */
import type { GatehouseErrorReason } from '../error-shape.js'
import type { RefreshLinkOptions } from '../links/refresh.js'
import type { CookieTransport } from './cookie-transport.js'
import type { ClientSettings } from './options.js'
import type { CallProcedure } from './procedures.js'
import type { BearerSource, CookieSession, Refresher, Session } from './session.js'
import { isAccessTokenStale, isGatehouseError } from '../errors.js'
import { toSlidingTokens, toTokens } from '../storage/token-storage.js'
import { createCookieSession, createSession } from './session.js'
import { tokenAge } from './token-age.js'

export interface CredentialsOptions extends Pick<ClientSettings, 'mode' | 'apiToken' | 'storage' | 'now'> {
  /** Holds the credentials instead of a login (the service client). */
  bearer: BearerSource | undefined
  /** Cookie mode's transport; undefined in the other modes. */
  cookies: CookieTransport | undefined
  /** Runs a procedure through the client's links: the refresh exchanges. */
  call: CallProcedure
  /** The user may have changed: storage cleared, or a refresh cookie refused. */
  onForget: () => void
}

export interface Credentials {
  /** The stored tokens (jwt and sliding modes). */
  session: Session
  /** Cookie mode's single flight of refreshes. */
  cookieSession: CookieSession
  /** The one of the two that holds this client's login. */
  refresher: Refresher
  /** The `Authorization` value for a call to anything but a token endpoint; none in cookie mode or logged out. */
  authorization: () => Promise<string | undefined>
  /** What the refresh link does; undefined for an API key, which has no refresh link. */
  renewal: Omit<RefreshLinkOptions, 'skip'> | undefined
}

/**
 * @example
 * const credentials = holdCredentials({ ...checkOptions(opts), bearer: undefined, cookies, call, onForget })
 * const authorization = await credentials.authorization() // 'Bearer eyJ…'
 */
export function holdCredentials(opts: CredentialsOptions): Credentials {
  const { mode, apiToken, bearer, cookies, call, now } = opts

  const session = createSession({
    storage: opts.storage,
    path: mode === 'sliding' ? 'auth.sliding.refresh' : 'auth.refresh',
    exchange: (refresh) =>
      mode === 'sliding' ? call('auth.sliding.refresh', { token: refresh }) : call('auth.refresh', { refresh }),
    tokensOf: mode === 'sliding' ? toSlidingTokens : toTokens,
    onClear: opts.onForget,
    now,
  })
  const cookieSession = createCookieSession({
    // `{}`, not no input: the procedure takes an object, whose `refresh` the cookie stands in for.
    exchange: () => call('auth.refresh', {}),
    onRejected() {
      cookies?.refreshRefused()
      opts.onForget()
    },
  })
  const refresher: Refresher = cookies ? cookieSession : session

  async function authorization(): Promise<string | undefined> {
    // Cookie mode sends no Authorization: on the server a header always wins over the cookies.
    if (cookies) return undefined
    if (bearer) return bearer.authorization()
    if (apiToken !== undefined) return `Token ${apiToken}`
    const tokens = await session.tokens()
    return tokens ? `Bearer ${tokens.access}` : undefined
  }

  /** Whether a failed call is worth a refresh, then a retry. */
  function shouldRefresh(error: unknown): boolean {
    if (isAccessTokenStale(error)) return true
    // The access cookie lives as long as its token, so once the token expires the cookie is
    // usually gone too and the call arrives anonymous: refresh then too, if a refresh cookie may
    // be there.
    return cookies !== undefined && reasonOf(error) === 'NOT_AUTHENTICATED' && cookies.mayRefresh()
  }

  /** Whether a failed call sent at `sentAt` may be sent again, and with what (see refreshLink). */
  async function recover(error: unknown, sentAt: number): Promise<boolean> {
    // An expired sliding token is past refreshing (the server checks `exp` first) and a
    // blacklisted one is dead: forget it without asking the server to refuse a refresh too.
    // TOKEN_REVOKED (a role change) is a live token the server re-stamps: refreshed below.
    if (bearer) {
      if (!isAccessTokenStale(error)) return false
      await bearer.refreshSince(sentAt)
      return true
    }
    const reason = reasonOf(error)
    if (mode === 'sliding' && (reason === 'TOKEN_EXPIRED' || reason === 'TOKEN_BLACKLISTED')) {
      return session.discardSince(sentAt)
    }
    if (!shouldRefresh(error)) return false
    await refresher.refreshSince(sentAt)
    return true
  }

  // Sliding mode refreshes ahead: the server refuses to refresh a token past its `exp`, so a call
  // made once the stored token is half through its life refreshes it first. Concurrent calls
  // share one look at storage, and so one refresh.
  let aheadCheck: Promise<void> | undefined
  async function refreshIfHalfway() {
    const tokens = await session.tokens()
    if (!tokens) return
    const age = tokenAge(tokens.access, { receivedAt: session.receivedAt(tokens.access), now: now() })
    // Unreadable, young, or already expired (a refresh would be refused): the server judges the call.
    if (!age || age.elapsedMs * 2 < age.lifetimeMs || age.elapsedMs >= age.lifetimeMs) return
    // Failed, the call goes with what storage holds then: the same token, or (refused, which
    // clears storage) none.
    await session.refresh().catch(() => undefined)
  }
  const refreshAhead = () =>
    (aheadCheck ??= refreshIfHalfway().finally(() => {
      aheadCheck = undefined
    }))

  return {
    session,
    cookieSession,
    refresher,
    authorization,
    // An API key is not refreshed: its 401 is the answer.
    renewal:
      apiToken !== undefined
        ? undefined
        : {
            generation: () => (bearer ?? refresher).generation,
            recover,
            beforeSend: mode === 'sliding' && !bearer ? refreshAhead : undefined,
          },
  }
}

function reasonOf(error: unknown): GatehouseErrorReason | undefined {
  return isGatehouseError(error) ? error.data.reason : undefined
}
