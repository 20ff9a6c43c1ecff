/**
 * A cookie-keeping client over raw HTTP, doing what a browser (or the SDK's cookie mode) does:
 * stores Set-Cookie by name and path, honours Max-Age=0, sends the cookies whose path matches,
 * and on mutations sends `Origin` and `X-CSRFToken` unless a test says otherwise.
 */
import type { WireResponse } from './http.js'
import { wire } from './http.js'

export interface SetCookie {
  name: string
  value: string
  /** Attribute names in lower case; flags map to true. */
  attributes: Record<string, string | true>
}

export function parseSetCookie(line: string): SetCookie {
  const [pair = '', ...rest] = line.split(';').map((part) => part.trim())
  const eq = pair.indexOf('=')
  const attributes: Record<string, string | true> = {}
  for (const part of rest) {
    const at = part.indexOf('=')
    if (at === -1) attributes[part.toLowerCase()] = true
    else attributes[part.slice(0, at).toLowerCase()] = part.slice(at + 1)
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes }
}

/** The response's Set-Cookie lines, as sent. */
export function setCookieLines(res: WireResponse): string[] {
  return res.headers.getSetCookie()
}

/** RFC 6265 path-match: a prefix ending at a `/` boundary. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true
  if (!requestPath.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'
}

export interface CallOptions {
  input?: unknown
  /** The Origin header; null sends none. @default the server's own origin */
  origin?: string | null
  /** The X-CSRFToken header; null sends none. @default the csrftoken cookie */
  csrf?: string | null
  headers?: Record<string, string>
  /** Cookies to send instead of the jar's (a replay, a forgery). */
  cookie?: string
}

export class CookieClient {
  readonly base: string
  /** `name;path` → cookie. */
  readonly jar = new Map<string, { name: string; value: string; path: string }>()

  constructor(base: string) {
    this.base = base
  }

  /** The value this client holds for `name` (on any path). */
  get(name: string): string | undefined {
    return [...this.jar.values()].find((c) => c.name === name)?.value
  }

  set(name: string, value: string, path = '/') {
    this.jar.set(`${name};${path}`, { name, value, path })
  }

  absorb(res: WireResponse): WireResponse {
    for (const line of setCookieLines(res)) {
      const cookie = parseSetCookie(line)
      const path = typeof cookie.attributes['path'] === 'string' ? cookie.attributes['path'] : '/'
      if (cookie.attributes['max-age'] === '0') this.jar.delete(`${cookie.name};${path}`)
      else this.set(cookie.name, cookie.value, path)
    }
    return res
  }

  cookieHeader(requestPath: string): string | undefined {
    const matching = [...this.jar.values()]
      .filter((c) => pathMatches(requestPath, c.path))
      .sort((a, b) => b.path.length - a.path.length)
    return matching.length > 0 ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined
  }

  async query(path: string, opts: CallOptions = {}): Promise<WireResponse> {
    const qs = opts.input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(opts.input))}`
    const cookie = opts.cookie ?? this.cookieHeader(`/trpc/${path}`)
    const res = await wire(`${this.base}/trpc/${path}${qs}`, {
      headers: { ...(cookie ? { cookie } : {}), ...opts.headers },
    })
    return this.absorb(res)
  }

  async mutation(path: string, opts: CallOptions = {}): Promise<WireResponse> {
    const cookie = opts.cookie ?? this.cookieHeader(`/trpc/${path}`)
    const origin = opts.origin === undefined ? this.base : opts.origin
    const csrf = opts.csrf === undefined ? this.get('csrftoken') : opts.csrf
    const res = await wire(`${this.base}/trpc/${path}`, {
      method: 'POST',
      body: opts.input === undefined ? undefined : JSON.stringify(opts.input),
      headers: {
        'content-type': 'application/json',
        ...(cookie ? { cookie } : {}),
        ...(origin === null ? {} : { origin }),
        ...(csrf === null || csrf === undefined ? {} : { 'x-csrftoken': csrf }),
        ...opts.headers,
      },
    })
    return this.absorb(res)
  }
}
