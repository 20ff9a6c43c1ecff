/**
 * Driving the OAuth server over HTTP as a browser and a client app would: a cookie jar that
 * follows redirects by hand, the interaction pages filled in from their HTML, PKCE pairs, and the
 * token endpoint with client authentication.
 */
import { createHash, randomBytes } from 'node:crypto'

import type { Db } from '@gatehouse/db'

import { createOAuthClient } from '../../src/oauth-core/clients.js'
import { parseSetCookie } from './cookies.js'

export const FORM = 'application/x-www-form-urlencoded'

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header = '', payload = ''] = token.split('.')
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
  }
}

export interface PageResponse {
  status: number
  headers: Headers
  text: string
  url: string
}

/** A cookie jar that keeps cookies by name and path and never follows a redirect on its own. */
export class Browser {
  readonly #cookies = new Map<string, { value: string; path: string }>()

  cookieHeader(url: string): string {
    const { pathname } = new URL(url)
    return [...this.#cookies.entries()]
      .filter(([, c]) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map(([key, c]) => `${key.split('|')[0]}=${c.value}`)
      .join('; ')
  }

  async fetch(
    url: string,
    init: { method?: string; body?: string; headers?: Record<string, string> } = {},
  ): Promise<PageResponse> {
    const cookie = this.cookieHeader(url)
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      body: init.body,
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...init.headers },
    })
    for (const line of res.headers.getSetCookie()) {
      const parsed = parseSetCookie(line)
      const path = typeof parsed.attributes.path === 'string' ? parsed.attributes.path : '/'
      const key = `${parsed.name}|${path}`
      const expired =
        parsed.attributes['max-age'] === '0' ||
        (typeof parsed.attributes.expires === 'string' && Date.parse(parsed.attributes.expires) < Date.now())
      if (expired) this.#cookies.delete(key)
      else this.#cookies.set(key, { value: parsed.value, path })
    }
    return { status: res.status, headers: res.headers, text: await res.text(), url }
  }

  /** Follows redirects while they stay on `origin`; returns the first answer that is not one, or leaves it. */
  async follow(
    url: string,
    origin: string,
    init: { method?: string; body?: string; headers?: Record<string, string> } = {},
  ) {
    let res = await this.fetch(url, init)
    for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops += 1) {
      const next = new URL(res.headers.get('location') ?? '', res.url).href
      if (!next.startsWith(origin)) return { ...res, location: next }
      res = await this.fetch(next)
    }
    return { ...res, location: res.headers.get('location') ?? undefined }
  }
}

export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html)
  if (!match?.[1]) throw new Error(`no csrf field in page: ${html.slice(0, 300)}`)
  return match[1]
}

export function formAction(html: string, suffix: string): string {
  const match = new RegExp(`action="([^"]+/${suffix})"`).exec(html)
  if (!match?.[1]) throw new Error(`no ${suffix} form in page`)
  return match[1]
}

export interface AuthorizeOptions {
  base: string
  clientId: string
  redirectUri: string
  scope: string
  /**
   * The PKCE code_challenge. Every client must send one, so by default a fresh one is made (whose
   * verifier nobody keeps: use `authorize` to redeem the code); `null` sends none.
   */
  challenge?: string | null | undefined
  method?: string | undefined
  state?: string
  extra?: Record<string, string>
}

export function authorizeUrl(o: AuthorizeOptions): string {
  const challenge = o.challenge === undefined ? pkce().challenge : o.challenge
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    scope: o.scope,
    state: o.state ?? 'st4te',
    ...(challenge !== null ? { code_challenge: challenge, code_challenge_method: o.method ?? 'S256' } : {}),
    ...o.extra,
  })
  return `${o.base}/oauth/auth?${params.toString()}`
}

/**
 * The whole browser side of authorization code: start, sign in (if asked), consent (if asked),
 * and return where the server finally sends the browser (the client's redirect URI). Every client
 * must use PKCE: without a `challenge`, a fresh S256 pair is made and its `verifier` returned.
 */
export async function authorize(
  browser: Browser,
  o: AuthorizeOptions & { user?: { username: string; password: string }; decision?: 'allow' | 'deny' },
) {
  const pair = o.challenge === undefined ? pkce() : undefined
  const verifier = pair?.verifier
  let res = await browser.follow(authorizeUrl({ ...o, challenge: pair ? pair.challenge : o.challenge }), o.base)
  const pages: string[] = []
  for (let step = 0; step < 4 && res.location === undefined; step += 1) {
    if (res.status !== 200) throw new Error(`interaction answered ${res.status}: ${res.text.slice(0, 300)}`)
    const html = res.text
    pages.push(html)
    const csrf = csrfOf(html)
    if (html.includes('name="password"')) {
      if (!o.user) throw new Error('asked to sign in without a user')
      const body = new URLSearchParams({ csrf, username: o.user.username, password: o.user.password }).toString()
      res = await browser.follow(`${o.base}${formAction(html, 'login')}`, o.base, {
        method: 'POST',
        body,
        headers: { 'content-type': FORM },
      })
    } else {
      const action = formAction(html, o.decision === 'deny' ? 'abort' : 'confirm')
      res = await browser.follow(`${o.base}${action}`, o.base, {
        method: 'POST',
        body: new URLSearchParams({ csrf }).toString(),
        headers: { 'content-type': FORM },
      })
    }
  }
  if (res.location === undefined)
    throw new Error(`never redirected to the client: ${res.status} ${res.text.slice(0, 300)}`)
  const location = new URL(res.location)
  return { location, params: location.searchParams, pages, verifier }
}

export async function tokenRequest(base: string, o: { form: Record<string, string>; authorization?: string }) {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': FORM, ...(o.authorization ? { authorization: o.authorization } : {}) },
    body: new URLSearchParams(o.form).toString(),
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> }
}

export async function formPost(url: string, o: { form: Record<string, string>; authorization?: string }) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': FORM, ...(o.authorization ? { authorization: o.authorization } : {}) },
    body: new URLSearchParams(o.form).toString(),
  })
  const text = await res.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body }
}

/** Where the test clients' authorization codes go: never fetched, only compared. */
export const REDIRECT = 'https://app.example.com/callback'
/** Every grant, as offered by a server with OAUTH_GRANTS at its default. */
export const ALL_GRANTS = ['authorization_code', 'client_credentials', 'refresh_token'] as const

/** A client's name and the scopes it is registered with. */
export interface ClientSpec {
  name: string
  scopes: string
}

/**
 * A client registered straight in the database (createOAuthClient, offering `offered` grants):
 * its id, its secret ('' for a public client) and its service user (a client_credentials client's).
 */
export async function registerClient(
  db: Db,
  spec: Parameters<typeof createOAuthClient>[1],
  offered: Parameters<typeof createOAuthClient>[2] = ALL_GRANTS,
) {
  const created = await createOAuthClient(db, spec, offered)
  return {
    clientId: created.client.clientId,
    secret: created.clientSecret ?? '',
    serviceUser: created.client.serviceUser,
  }
}

/**
 * The clients an OAuth test starts from, created straight in the database: a client_credentials
 * service, a confidential web app and a public single-page app (PKCE), both apps redirecting to
 * REDIRECT with refresh tokens, and `api`, a resource server (the one client that may introspect).
 * @example
 * const { service, web, spa, api } = await createTestClients(server.db, { service: { name: 'Billing', scopes: 'read' }, … })
 */
export async function createTestClients(db: Db, specs: { service: ClientSpec; web: ClientSpec; spa: ClientSpec }) {
  const app = (spec: ClientSpec, isPublic: boolean) =>
    registerClient(db, {
      ...spec,
      grants: ['authorization_code', 'refresh_token'],
      redirectUris: [REDIRECT],
      public: isPublic,
    })
  const service = await registerClient(db, { ...specs.service, grants: ['client_credentials'] })
  const web = await app(specs.web, false)
  const spa = await app(specs.spa, true)
  const api = await registerClient(db, {
    name: 'Resource server',
    grants: ['client_credentials'],
    scopes: 'read',
    resourceServer: true,
  })
  return {
    service,
    web: { clientId: web.clientId, secret: web.secret },
    spa: { clientId: spa.clientId },
    api: { clientId: api.clientId, secret: api.secret },
  }
}
