/**
 * CSRF protection for cookie-borne credentials: DRF's `SessionAuthentication.enforce_csrf` with
 * Django's `CsrfViewMiddleware` checks and messages, tightened for an API.
 *
 * A request with an unsafe method (anything but GET, HEAD, OPTIONS) that a cookie authenticates
 * must carry, in this order (Django 4's order, so the first failure names itself):
 * 1. an `Origin` header naming the request's own origin (`http(s)://<Host>`) or a trusted one;
 *    unlike Django, a missing Origin is refused too: every current browser sends it on unsafe
 *    requests, and a non-browser client can send it as easily as the token;
 * 2. the `csrftoken` cookie;
 * 3. an `X-CSRFToken` header equal to that cookie, compared in constant time.
 *
 * The token is a plain double-submit value (random, unbound to the credential). Binding it
 * (OWASP's signed double-submit) defends against an attacker who can plant a `csrftoken` cookie
 * from a sibling subdomain and then send the matching value. Here that attacker still fails: the
 * token is read from a custom header only (never a form field), which a browser sends cross-origin
 * only after a CORS preflight this server never approves, and the Origin check refuses their
 * origin. Binding would instead need an app-wide secret or per-credential state that JWT cookies
 * lack (their access token changes every few minutes).
 */
import { createHash, timingSafeEqual } from 'node:crypto'

import type { AuthRequest, ResponseCookie } from '../authenticators/authenticator.js'
import { AuthError } from '../errors.js'

export const CSRF_COOKIE = 'csrftoken'
/** The header, as node names it (lower case); clients send `X-CSRFToken`. */
export const CSRF_HEADER = 'x-csrftoken'
/** Django's CSRF_COOKIE_AGE: a year in seconds. */
export const CSRF_COOKIE_MAX_AGE_SECONDS = 31_449_600

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Whether CSRF leaves the method alone; an in-process call (no method) is never cross-site. */
export function isSafeMethod(method: string | undefined): boolean {
  return method === undefined || SAFE_METHODS.has(method.toUpperCase())
}

/** A new token: 32 random bytes, hex (64 characters, the length of Django's). */
export function generateCsrfToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')
}

/** The `csrftoken` cookie: readable by the page's script (it must copy it into the header). */
export function csrfCookie(token: string): ResponseCookie {
  return { name: CSRF_COOKIE, value: token, maxAge: CSRF_COOKIE_MAX_AGE_SECONDS, path: '/', sameSite: 'Lax' }
}

/** Gives the client a token when a cookie-authenticated request arrives without one. */
export function ensureCsrfCookie(request: AuthRequest): void {
  if (!request.cookies?.[CSRF_COOKIE]) request.response?.setCookie(csrfCookie(generateCsrfToken()))
}

/**
 * An origin as CSRF_TRUSTED_ORIGINS accepts it (`https://app.example.com`, `http://localhost:5173`,
 * `https://*.example.com`), normalised as browsers send it; null when it is not one.
 * @example normalizeTrustedOrigin('HTTPS://App.Example.com:443/') // 'https://app.example.com'
 */
export function normalizeTrustedOrigin(text: string): string | null {
  const match = /^(https?):\/\/(\*\.)?([^/?#@\s*]+)\/?$/i.exec(text.trim())
  if (!match) return null
  const [, scheme = '', wildcard, authority = ''] = match
  const url = parseUrl(`${scheme}://${wildcard ? 'wildcard.' : ''}${authority}`)
  if (!url) return null
  return wildcard ? url.origin.replace('://wildcard.', '://*.') : url.origin
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text)
  } catch {
    return null
  }
}

function isTrusted(origin: string, request: AuthRequest, trusted: readonly string[]): boolean {
  const url = origin === 'null' ? null : parseUrl(origin)
  if (!url || url.origin === 'null') return false
  const host = request.headers['host']
  const own = host ? parseUrl(`${request.secure ? 'https' : 'http'}://${host}`)?.origin : undefined
  if (url.origin === own) return true
  return trusted.some((entry) => {
    if (entry === url.origin) return true
    const [scheme, suffix] = entry.split('://*.')
    return suffix !== undefined && url.protocol === `${scheme}:` && url.host.endsWith(`.${suffix}`)
  })
}

function refuse(reason: string): never {
  throw new AuthError('CSRF_FAILED', { message: `CSRF Failed: ${reason}` })
}

/**
 * Django's Origin check: the request's own origin or a trusted one. With `required: false` a
 * request without Origin passes (logins from curl); with `true` it is refused.
 */
export function checkOrigin(request: AuthRequest, trusted: readonly string[], opts: { required: boolean }): void {
  const origin = request.headers['origin']
  if (origin === undefined) {
    if (opts.required) refuse('Origin checking failed - no Origin.')
    return
  }
  if (!isTrusted(origin, request, trusted))
    refuse(`Origin checking failed - ${origin} does not match any trusted origins.`)
}

function sameToken(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so the comparison's time says nothing about either value.
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest()
  return timingSafeEqual(digest(a), digest(b))
}

/**
 * Throws 403 CSRF_FAILED, with Django's message, unless the request is safe or passes every
 * check (see the top of this file). Call it only for a request a cookie authenticates.
 * @example enforceCsrf(request, config.csrfTrustedOrigins)
 */
export function enforceCsrf(request: AuthRequest, trusted: readonly string[]): void {
  if (isSafeMethod(request.method)) return
  checkOrigin(request, trusted, { required: true })
  const cookie = request.cookies?.[CSRF_COOKIE]
  if (!cookie) refuse('CSRF cookie not set.')
  const header = request.headers[CSRF_HEADER]
  if (!header) refuse('CSRF token missing.')
  if (!sameToken(header, cookie)) refuse('CSRF token incorrect.')
}
