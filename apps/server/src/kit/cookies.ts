/**
 * Cookies on the wire: the request's `Cookie` header parsed, the response's `Set-Cookie` headers
 * collected per request (a batch shares one jar) and written once by responseMeta.
 */
import type { AuthResponse, ResponseCookie } from '@gatehouse/auth'

/**
 * `a=1; b="2"` → `{ a: '1', b: '2' }`. The first of a repeated name wins: browsers send the most
 * specific cookie (longest path) first. Values are taken as sent, without URL-decoding; ours never
 * need it. The object has no prototype, so a cookie named `__proto__` is just a name.
 * @example parseCookieHeader('sessionid=abc; csrftoken=def').csrftoken // 'def'
 */
export function parseCookieHeader(header: string): Record<string, string> {
  const cookies = Object.create(null) as Record<string, string>
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq <= 0) continue
    const name = pair.slice(0, eq).trim()
    if (!name || name in cookies) continue
    let value = pair.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    cookies[name] = value
  }
  return cookies
}

/** What Django writes when it deletes a cookie, besides Max-Age=0, for clients that only read Expires. */
const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT'

/**
 * One `Set-Cookie` value: `name=value; Max-Age=N; Path=/; HttpOnly; SameSite=Lax[; Secure]`.
 * Max-Age alone sets the lifetime (RFC 6265 gives it precedence); a deletion adds Django's Expires.
 */
export function serializeCookie(cookie: ResponseCookie, secure: boolean): string {
  const parts = [`${cookie.name}=${cookie.value}`, `Max-Age=${cookie.maxAge}`]
  if (cookie.maxAge === 0) parts.push(`Expires=${EPOCH}`)
  parts.push(`Path=${cookie.path ?? '/'}`)
  if (cookie.httpOnly) parts.push('HttpOnly')
  parts.push(`SameSite=${cookie.sameSite ?? 'Lax'}`)
  if (secure) parts.push('Secure')
  return parts.join('; ')
}

/** COOKIE_SECURE: `auto` marks cookies Secure when the request itself came over TLS. */
export function cookiesAreSecure(setting: boolean | 'auto', requestSecure: boolean): boolean {
  return setting === 'auto' ? requestSecure : setting
}

/** The cookies a response will set; the last one set for a name and path wins. */
export class CookieJar implements AuthResponse {
  readonly #secure: boolean
  readonly #cookies = new Map<string, ResponseCookie>()

  constructor(opts: { secure: boolean }) {
    this.#secure = opts.secure
  }

  setCookie(cookie: ResponseCookie): void {
    const key = `${cookie.name};${cookie.path ?? '/'}`
    this.#cookies.delete(key) // re-inserted last, so the headers keep the order of the final writes
    this.#cookies.set(key, cookie)
  }

  /** The `Set-Cookie` header values, in the order they were last set. */
  headers(): string[] {
    return [...this.#cookies.values()].map((cookie) => serializeCookie(cookie, this.#secure))
  }
}
