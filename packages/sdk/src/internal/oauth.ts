/**
 * What the service client and the PKCE helper share about talking to an OAuth server: its
 * errors, and discovery (RFC 8414). No imports, so the browser helper stays one small module.
 */

/**
 * The OAuth server refused, or answered something unusable: `error` is the OAuth error code
 * (`invalid_client`, `invalid_grant`, `access_denied`, …), or `discovery_failed`,
 * `invalid_response`, `state_mismatch` for what the client itself found wrong.
 */
export class OAuthTokenError extends Error {
  override readonly name = 'OAuthTokenError'
  readonly error: string
  /** The HTTP status of the answer; 0 for an error that came back on the redirect. */
  readonly status: number
  readonly description: string | undefined

  constructor(opts: { error: string; status: number; description?: string | undefined }) {
    super(opts.description ? `${opts.error}: ${opts.description}` : opts.error)
    this.error = opts.error
    this.status = opts.status
    this.description = opts.description
  }
}

/** `fetch`, called as a plain function (a browser's refuses to run as a method of another object). */
export type PlainFetch = (input: string, init: RequestInit) => Promise<Response>

export const defaultFetch: PlainFetch = (input, init) => globalThis.fetch(input, init)

export async function readJson(res: Response): Promise<Record<string, unknown> | undefined> {
  try {
    const body: unknown = await res.json()
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The issuer: given, or `<url>/oauth`; no trailing slash. */
export function issuerOf(opts: { url?: string | URL | undefined; issuer?: string | URL | undefined }): string {
  const issuer = opts.issuer ?? (opts.url === undefined ? undefined : `${String(opts.url).replace(/\/+$/, '')}/oauth`)
  if (issuer === undefined) throw new TypeError('`url` or `issuer` is required, such as https://auth.example.com')
  return String(issuer).replace(/\/+$/, '')
}

export interface Endpoints {
  authorization: string
  token: string
}

/** The endpoints named by the issuer's discovery document. */
export async function discover(issuer: string, fetch: PlainFetch): Promise<Endpoints> {
  const where = `${issuer}/.well-known/openid-configuration`
  const res = await fetch(where, { headers: { accept: 'application/json' } })
  const doc = res.ok ? await readJson(res) : undefined
  const authorization = doc?.['authorization_endpoint']
  const token = doc?.['token_endpoint']
  if (doc?.['issuer'] !== issuer || typeof token !== 'string' || typeof authorization !== 'string') {
    throw new OAuthTokenError({
      error: 'discovery_failed',
      status: res.status,
      description: `no usable discovery document at ${where}`,
    })
  }
  return { authorization, token }
}

/** Remembers a discovery that worked; one that failed is asked again next time. */
export function cachedDiscovery(issuer: string, fetch: PlainFetch): () => Promise<Endpoints> {
  let endpoints: Promise<Endpoints> | undefined
  return () =>
    (endpoints ??= discover(issuer, fetch).catch((error: unknown) => {
      endpoints = undefined
      throw error
    }))
}

/** A token endpoint's answer as a client keeps it, or the OAuth error it carried. */
export async function tokenAnswer(res: Response): Promise<Record<string, unknown> & { access_token: string }> {
  const body = await readJson(res)
  if (!res.ok) {
    const error = typeof body?.['error'] === 'string' ? body['error'] : 'invalid_response'
    const description = typeof body?.['error_description'] === 'string' ? body['error_description'] : undefined
    throw new OAuthTokenError({ error, status: res.status, description })
  }
  const value = body?.['access_token']
  if (typeof value !== 'string' || !value || String(body?.['token_type']).toLowerCase() !== 'bearer') {
    throw new OAuthTokenError({ error: 'invalid_response', status: res.status, description: 'no bearer access_token' })
  }
  return body as Record<string, unknown> & { access_token: string }
}
