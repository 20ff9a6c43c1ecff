/**
 * Cookies for cookie mode outside browsers (Node, other servers, tests), where `fetch` keeps
 * none: the client reads every response's `Set-Cookie` into a jar and sends back the cookies a
 * browser would send, as RFC 6265 says: by host, path and expiry, the longest path first.
 */

/** Where cookie mode keeps the server's cookies when no browser does. */
export interface CookieJar {
  /** Reads a response's `Set-Cookie` lines, for a request made to `url`. */
  store(url: string, setCookie: readonly string[]): void
  /** The `Cookie` header for a request to `url`; undefined when no cookie applies. */
  cookieHeader(url: string): string | undefined
  /** The value a request to `url` would send for cookie `name`. */
  get(name: string, url: string): string | undefined
  /** Forgets every cookie. */
  clear(): void
}

export interface MemoryCookieJarOptions {
  /**
   * The time cookies expire by.
   * @default () => new Date()
   */
  clock?: () => Date
}

interface StoredCookie {
  name: string
  value: string
  host: string
  path: string
  /** Milliseconds since the epoch; undefined for a session cookie (kept as long as the jar). */
  expiresAt: number | undefined
  secure: boolean
  /** Insertion order, for RFC 6265's tie-break between equal path lengths. */
  order: number
}

/**
 * A cookie jar in memory, for one process: the default in cookie mode outside browsers.
 *
 * Cookies are host-only (a `Domain` attribute is not honoured: the jar serves one server);
 * `Max-Age` wins over `Expires`, and a date in the past or `Max-Age=0` deletes; a `Secure`
 * cookie goes over HTTPS only, or to a loopback host (as browsers do).
 *
 * @example
 * ```ts
 * const cookies = memoryCookieJar()
 * const client = createGatehouseClient({ url, mode: 'cookie', cookies })
 * await client.auth.session.login({ username, password })
 * cookies.get('csrftoken', url) // the token the client sends as X-CSRFToken
 * ```
 */
export function memoryCookieJar(opts: MemoryCookieJarOptions = {}): CookieJar {
  const now = () => (opts.clock ?? (() => new Date()))().getTime()
  const cookies = new Map<string, StoredCookie>()
  let order = 0

  function live(url: URL): StoredCookie[] {
    const at = now()
    const found: StoredCookie[] = []
    for (const [key, cookie] of cookies) {
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= at) {
        cookies.delete(key)
        continue
      }
      if (cookie.host !== url.hostname || !pathMatches(url.pathname, cookie.path)) continue
      if (cookie.secure && !isSecureTarget(url)) continue
      found.push(cookie)
    }
    return found.sort((a, b) => b.path.length - a.path.length || a.order - b.order)
  }

  return {
    store(url, lines) {
      const target = new URL(url)
      for (const line of lines) {
        const cookie = parseSetCookie(line, target, now())
        if (!cookie) continue
        const key = `${cookie.host};${cookie.path};${cookie.name}`
        if (cookie.expiresAt !== undefined && cookie.expiresAt <= now()) {
          cookies.delete(key)
          continue
        }
        const previous = cookies.get(key)
        order += 1
        cookies.set(key, { ...cookie, order: previous?.order ?? order })
      }
    },
    cookieHeader(url) {
      const found = live(new URL(url))
      return found.length > 0 ? found.map((c) => `${c.name}=${c.value}`).join('; ') : undefined
    },
    get(name, url) {
      return live(new URL(url)).find((c) => c.name === name)?.value
    },
    clear() {
      cookies.clear()
    },
  }
}

/** RFC 6265 5.2: one `Set-Cookie` line; null when it names no cookie. */
function parseSetCookie(line: string, url: URL, now: number): Omit<StoredCookie, 'order'> | null {
  const [pair = '', ...attributes] = line.split(';')
  const eq = pair.indexOf('=')
  if (eq === -1) return null
  const name = pair.slice(0, eq).trim()
  if (!name) return null
  const cookie: Omit<StoredCookie, 'order'> = {
    name,
    value: pair.slice(eq + 1).trim(),
    host: url.hostname,
    path: defaultPath(url.pathname),
    expiresAt: undefined,
    secure: false,
  }
  let maxAge: number | undefined
  for (const attribute of attributes) {
    const sep = attribute.indexOf('=')
    const key = (sep === -1 ? attribute : attribute.slice(0, sep)).trim().toLowerCase()
    const value = sep === -1 ? '' : attribute.slice(sep + 1).trim()
    if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value)
    else if (key === 'expires') {
      const date = Date.parse(value)
      if (!Number.isNaN(date)) cookie.expiresAt = date
    } else if (key === 'path' && value.startsWith('/')) cookie.path = value
    else if (key === 'secure') cookie.secure = true
  }
  if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : now + maxAge * 1000
  return cookie
}

/** RFC 6265 5.1.4: the request path up to its last `/`, when a cookie names no path. */
function defaultPath(requestPath: string): string {
  const slash = requestPath.lastIndexOf('/')
  return slash <= 0 ? '/' : requestPath.slice(0, slash)
}

/** RFC 6265 5.1.4 path-match: equal, or a prefix ending at a `/` boundary. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true
  if (!requestPath.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'
}

function isSecureTarget(url: URL): boolean {
  return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
}

/**
 * The value of cookie `name` in a `document.cookie` string (`a=1; b=2`); undefined when absent.
 * @example readCookie('csrftoken=abc; theme=dark', 'csrftoken') // 'abc'
 */
export function readCookie(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
  }
  return undefined
}
