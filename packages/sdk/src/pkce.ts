/**
 * The browser side of authorization code + PKCE (RFC 7636, S256) for a public client: a single
 * page or native app that holds no secret. `authorizeUrl()` makes a fresh `state` and code
 * verifier, keeps them in `sessionStorage` (this tab only, gone with it) and returns where to send
 * the browser; on the redirect URI, `handleRedirect()` checks `state` (and `iss`, RFC 9207),
 * spends the verifier once and exchanges the code. WebCrypto only: no dependency, no Node API.
 */
import type { PlainFetch } from './internal/oauth.js'
import { cachedDiscovery, defaultFetch, issuerOf, OAuthTokenError, tokenAnswer } from './internal/oauth.js'

/** Where the pending attempts are kept; `sessionStorage` has this shape. */
export interface PkceStorage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

export interface PkceFlowOptions {
  /**
   * The Gatehouse server, without `/oauth`; the issuer is `<url>/oauth` unless `issuer` is given.
   * @example 'https://auth.example.com'
   */
  url?: string | URL
  /** The OAuth issuer, when the server's OAUTH_ISSUER is not `<url>/oauth`. */
  issuer?: string | URL
  /** The public client's id (`gatehouse createclient --public`). */
  clientId: string
  /** One of the client's registered redirect URIs, exactly. */
  redirectUri: string
  /**
   * Space separated or a list.
   * @default 'openid read'
   */
  scopes?: string | readonly string[]
  /** A resource indicator (RFC 8707) for the token. @default the server's own API */
  resource?: string
  /** @default globalThis.sessionStorage */
  storage?: PkceStorage
  /** @default globalThis.fetch */
  fetch?: PlainFetch
}

/** A token endpoint's answer, camel-cased. */
export interface PkceTokens {
  accessToken: string
  tokenType: 'Bearer'
  /** Seconds, as the server said. */
  expiresIn?: number
  scope?: string
  refreshToken?: string
  idToken?: string
}

export interface PkceFlow {
  /**
   * A new authorization request: its state and verifier are kept in storage; send the browser
   * to the URL. `extra` adds parameters (`prompt`, `login_hint`…); it cannot replace the PKCE ones.
   * @example location.assign(await flow.authorizeUrl())
   */
  authorizeUrl: (extra?: Record<string, string>) => Promise<string>
  /**
   * On the redirect URI: the tokens for the code in `url`. Rejects with OAuthTokenError for an
   * error the server sent back (`access_denied` when the user said no), a state this tab did not
   * start (`state_mismatch`), or a refused exchange. The attempt is forgotten either way.
   * @example const tokens = await flow.handleRedirect(location.href)
   */
  handleRedirect: (url: string | URL) => Promise<PkceTokens>
  /** Trades a refresh token for new tokens (a public client authenticates with its id only). */
  refresh: (refreshToken: string) => Promise<PkceTokens>
}

const KEY_PREFIX = 'gatehouse.pkce.'

function randomUrlSafe(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)))
}

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** S256: BASE64URL(SHA-256(ASCII(verifier))). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  return base64url(new Uint8Array(digest))
}

function toTokens(body: Record<string, unknown> & { access_token: string }): PkceTokens {
  const tokens: PkceTokens = { accessToken: body.access_token, tokenType: 'Bearer' }
  if (typeof body['expires_in'] === 'number') tokens.expiresIn = body['expires_in']
  if (typeof body['scope'] === 'string') tokens.scope = body['scope']
  if (typeof body['refresh_token'] === 'string') tokens.refreshToken = body['refresh_token']
  if (typeof body['id_token'] === 'string') tokens.idToken = body['id_token']
  return tokens
}

/**
 * @example
 * ```ts
 * import { createPkceFlow } from '@gatehouse/sdk'
 *
 * const flow = createPkceFlow({ url: 'https://auth.example.com', clientId, redirectUri: `${location.origin}/callback` })
 * // on "Connect":
 * location.assign(await flow.authorizeUrl())
 * // on /callback:
 * const { accessToken } = await flow.handleRedirect(location.href)
 * ```
 */
export function createPkceFlow(opts: PkceFlowOptions): PkceFlow {
  if (!opts?.clientId) throw new TypeError('createPkceFlow(): `clientId` is required')
  if (!opts.redirectUri) throw new TypeError('createPkceFlow(): `redirectUri` is required')
  const issuer = issuerOf(opts)
  const fetch = opts.fetch ?? defaultFetch
  const endpoints = cachedDiscovery(issuer, fetch)
  const storage = (): PkceStorage => {
    const found = opts.storage ?? (globalThis as { sessionStorage?: PkceStorage }).sessionStorage
    if (!found) throw new TypeError('createPkceFlow(): no sessionStorage here; pass `storage`')
    return found
  }
  const scopes = typeof opts.scopes === 'string' ? opts.scopes : (opts.scopes ?? ['openid', 'read']).join(' ')

  async function exchange(form: Record<string, string>): Promise<PkceTokens> {
    const { token } = await endpoints()
    const body = new URLSearchParams({ ...form, client_id: opts.clientId })
    if (opts.resource) body.set('resource', opts.resource)
    const res = await fetch(token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
    })
    return toTokens(await tokenAnswer(res))
  }

  return {
    async authorizeUrl(extra = {}) {
      const { authorization } = await endpoints()
      const state = randomUrlSafe(32)
      const verifier = randomUrlSafe(32) // 43 characters, RFC 7636's minimum length and 256 bits
      storage().setItem(`${KEY_PREFIX}${state}`, JSON.stringify({ verifier, redirectUri: opts.redirectUri }))
      const url = new URL(authorization)
      const params = {
        ...extra,
        response_type: 'code',
        client_id: opts.clientId,
        redirect_uri: opts.redirectUri,
        scope: scopes,
        state,
        code_challenge: await codeChallenge(verifier),
        code_challenge_method: 'S256',
        ...(opts.resource ? { resource: opts.resource } : {}),
      }
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
      return url.href
    },

    async handleRedirect(url) {
      const params = new URL(String(url)).searchParams
      const state = params.get('state') ?? ''
      const key = `${KEY_PREFIX}${state}`
      const saved = state ? storage().getItem(key) : null
      if (saved !== null) storage().removeItem(key) // one use, whatever happens next
      const issued = params.get('iss')
      if (issued !== null && issued !== issuer) {
        throw new OAuthTokenError({
          error: 'invalid_response',
          status: 0,
          description: `answer from another issuer: ${issued}`,
        })
      }
      const error = params.get('error')
      if (error !== null && saved !== null) {
        throw new OAuthTokenError({ error, status: 0, description: params.get('error_description') ?? undefined })
      }
      if (saved === null) {
        throw new OAuthTokenError({
          error: 'state_mismatch',
          status: 0,
          description: 'this tab started no such authorization',
        })
      }
      const { verifier, redirectUri } = JSON.parse(saved) as { verifier: string; redirectUri: string }
      const code = params.get('code')
      if (!code)
        throw new OAuthTokenError({ error: 'invalid_response', status: 0, description: 'no code in the redirect' })
      return exchange({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier })
    },

    refresh(refreshToken) {
      return exchange({ grant_type: 'refresh_token', refresh_token: refreshToken })
    },
  }
}
