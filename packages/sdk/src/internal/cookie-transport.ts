/**
 * Cookie mode on the wire. In a browser the browser keeps the cookies: requests go with
 * `credentials: 'include'` and the CSRF token is read from `document.cookie`. Elsewhere `fetch`
 * keeps none, so the client does what a browser would: a jar fed from every response's
 * `Set-Cookie`, a `Cookie` header from it, and on unsafe requests the `Origin` header a browser
 * adds by itself (the server refuses a cookie-authenticated mutation without one).
 */
import type { CookieJar } from '../cookies/cookie-jar.js'
import type { GatehouseFetch } from '../types.js'
import { readCookie } from '../cookies/cookie-jar.js'

/** Django's names, which the server uses. */
const CSRF_COOKIE = 'csrftoken'
const CSRF_HEADER = 'x-csrftoken'
const REFRESH_COOKIE = 'refresh'

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface CookieTransport {
  /** `fetch` with the cookies, `Origin` and `X-CSRFToken` a browser page would send. */
  fetch: GatehouseFetch
  /** Whether the client holds a CSRF token to send (worth retrying a "CSRF cookie not set" refusal). */
  hasCsrfToken(): boolean
  /**
   * Whether the client may hold a refresh cookie, so that a 401 `NOT_AUTHENTICATED` may only
   * mean the access cookie ran out (its Max-Age is the access token's lifetime, so the browser
   * or the jar drops it when the token expires) and a refresh is worth a try.
   */
  mayRefresh(): boolean
  /** A login answered: `jwt` when it set the JWT cookies (and so a refresh cookie). */
  loggedIn(jwt: boolean): void
  /** The server refused the refresh cookie (and cleared it). */
  refreshRefused(): void
  /** Logged out: forgets every cookie the client keeps itself. */
  loggedOut(): void
}

export interface CookieTransportOptions {
  /** The `fetch` to wrap. */
  fetch: GatehouseFetch
  /** The server's tRPC endpoint, `https://host/trpc`. */
  url: string
  /** The jar; undefined in a browser, whose own cookie store is used. */
  jar: CookieJar | undefined
}

/** Whether this runtime keeps cookies itself: a browser page, where `document.cookie` exists. */
export function hasBrowserCookies(): boolean {
  return typeof document !== 'undefined' && typeof document.cookie === 'string'
}

export function cookieTransport(opts: CookieTransportOptions): CookieTransport {
  const { jar } = opts
  const origin = new URL(opts.url).origin
  const refreshUrl = `${opts.url}/auth.refresh`

  const csrfToken = (url: string) => (jar ? jar.get(CSRF_COOKIE, url) : readCookie(document.cookie, CSRF_COOKIE))
  // A browser cannot see the httpOnly refresh cookie: it assumes one after a JWT cookie login,
  // and at start whenever a csrftoken shows an earlier cookie login (one wasted refresh at most).
  let browserMayRefresh = !jar && csrfToken(opts.url) !== undefined

  return {
    async fetch(input, init) {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
      const headers = new Headers(init?.headers)
      const unsafe = !SAFE_METHODS.has((init?.method ?? 'GET').toUpperCase())
      const token = unsafe ? csrfToken(url) : undefined
      // Headers the caller set (the `headers` option) win: a trusted Origin, say.
      if (token !== undefined && !headers.has(CSRF_HEADER)) headers.set(CSRF_HEADER, token)
      if (!jar) return opts.fetch(input, { ...init, headers: plain(headers), credentials: 'include' })

      const cookie = jar.cookieHeader(url)
      if (cookie !== undefined && !headers.has('cookie')) headers.set('cookie', cookie)
      if (unsafe && !headers.has('origin')) headers.set('origin', origin)
      const response = await opts.fetch(input, { ...init, headers: plain(headers) })
      jar.store(url, setCookieLines(response))
      return response
    },
    hasCsrfToken: () => csrfToken(opts.url) !== undefined,
    mayRefresh: () => (jar ? jar.get(REFRESH_COOKIE, refreshUrl) !== undefined : browserMayRefresh),
    loggedIn(jwt) {
      browserMayRefresh = jwt
    },
    refreshRefused() {
      browserMayRefresh = false
    },
    loggedOut() {
      browserMayRefresh = false
      jar?.clear()
    },
  }
}

function plain(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  headers.forEach((value, name) => {
    out[name] = value
  })
  return out
}

/** A response's `Set-Cookie` lines; none from a `fetch` whose responses lack `getSetCookie`. */
function setCookieLines(response: unknown): string[] {
  const headers = (response as { headers?: { getSetCookie?: () => string[] } }).headers
  return typeof headers?.getSetCookie === 'function' ? headers.getSetCookie() : []
}
