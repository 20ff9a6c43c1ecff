/**
 * JWTs in httpOnly cookies, the seed's code-2 login done opt-in: `auth.login {cookies: true}` sets
 * `access`, `refresh` and `csrftoken`; `auth.refresh` without a body token uses the `refresh` cookie
 * (CSRF enforced) and answers with fresh cookies; `auth.logout` clears them (see its comment). A client that
 * sends no cookies sees exactly the body-only contract.
 *
 * The `refresh` cookie is set twice, with `Path=/trpc/auth.refresh` and `Path=/trpc/auth.logout`,
 * so it travels only to the two procedures that use it. A cookie path matches at `/` boundaries
 * only, so no single path covers both; both copies hold the same token. (A batched call carries
 * neither: call these two unbatched.)
 */
import type { ResponseCookie, TokenPair } from '@gatehouse/auth'
import {
  ACCESS_COOKIE,
  AuthError,
  checkOrigin,
  csrfCookie,
  enforceCsrf,
  ensureCsrfCookie,
  generateCsrfToken,
  REFRESH_COOKIE,
} from '@gatehouse/auth'

import type { Context } from './context.js'

export const REFRESH_COOKIE_PATHS = ['/trpc/auth.refresh', '/trpc/auth.logout'] as const

function accessCookie(value: string, maxAge: number): ResponseCookie {
  return { name: ACCESS_COOKIE, value, maxAge, path: '/', httpOnly: true, sameSite: 'Lax' }
}

function refreshCookies(value: string, maxAge: number): ResponseCookie[] {
  return REFRESH_COOKIE_PATHS.map((path) => ({
    name: REFRESH_COOKIE,
    value,
    maxAge,
    path,
    httpOnly: true,
    sameSite: 'Lax',
  }))
}

/** Whether the request carries a JWT cookie: the client is in cookie mode. */
export function sendsJwtCookies(ctx: Context): boolean {
  const cookies = ctx.http?.request.cookies
  return Boolean(cookies?.[ACCESS_COOKIE] ?? cookies?.[REFRESH_COOKIE])
}

/** The `refresh` cookie's value, unchecked; undefined without one. */
export function refreshCookieOf(ctx: Context): string | undefined {
  return ctx.http?.request.cookies?.[REFRESH_COOKIE] || undefined
}

/**
 * Whether an unsafe request may act on its cookies without a CSRF token: no `Origin` (curl,
 * Postman, a server: there is no victim browser) or a trusted one. Browsers send `Origin` on
 * every cross-site POST, so a forged request is always caught here.
 */
export function fromTrustedOrigin(ctx: Context): boolean {
  if (!ctx.http) return true
  try {
    checkOrigin(ctx.http.request, ctx.config.csrfTrustedOrigins, { required: false })
    return true
  } catch (error) {
    if (error instanceof AuthError && error.code === 'CSRF_FAILED') return false
    throw error
  }
}

/**
 * Login CSRF: a browser page on another origin must not log its visitor into an account of the
 * page's choosing. A request without Origin (curl, a server) passes; there is no victim browser.
 */
export function checkLoginOrigin(ctx: Context): void {
  if (ctx.http) checkOrigin(ctx.http.request, ctx.config.csrfTrustedOrigins, { required: false })
}

/** Sets `access` and `refresh` (when `previousRefresh` differs), and a new `csrftoken` at a login. */
export function setJwtCookies(ctx: Context, pair: TokenPair, opts: { login: boolean; previousRefresh?: string }): void {
  const http = ctx.http
  if (!http) return
  http.setCookie(accessCookie(pair.access, ctx.config.accessTokenLifetimeSeconds))
  if (pair.refresh !== opts.previousRefresh) {
    for (const cookie of refreshCookies(pair.refresh, ctx.config.refreshTokenLifetimeSeconds)) http.setCookie(cookie)
  }
  if (opts.login) http.setCookie(csrfCookie(generateCsrfToken()))
}

/** Deletes `access` and both `refresh` copies (Max-Age=0). */
export function clearJwtCookies(ctx: Context): void {
  const http = ctx.http
  if (!http) return
  http.setCookie(accessCookie('', 0))
  for (const cookie of refreshCookies('', 0)) http.setCookie(cookie)
}

/**
 * The refresh token of the `refresh` cookie, once the request passes the CSRF checks. Without
 * the cookie it is the answer a missing body field gets: 400 `refresh: This field is required.`
 */
export function refreshFromCookie(ctx: Context): string {
  const token = ctx.http?.request.cookies?.[REFRESH_COOKIE]
  if (!ctx.http || !token) {
    throw new AuthError('INVALID_INPUT', {
      message: 'refresh: This field is required.',
      fieldErrors: { refresh: ['This field is required.'] },
    })
  }
  // A client that lost its csrftoken (cleared by hand, or never kept) gets a new one with the
  // refusal, as the cookie authenticators do, so it can retry instead of logging in again.
  ensureCsrfCookie(ctx.http.request)
  enforceCsrf(ctx.http.request, ctx.config.csrfTrustedOrigins)
  return token
}
