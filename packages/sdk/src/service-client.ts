/**
 * `createServiceClient`: server-to-server calls as an OAuth client (client credentials), in one
 * line. It finds the token endpoint by discovery, fetches a token, keeps it, renews it shortly
 * before it expires (one request however many calls are waiting: the same single flight as a
 * login's refresh), and retries a call once if the server answers 401 `TOKEN_EXPIRED` or
 * `TOKEN_REVOKED` anyway (a clock off, a key rotated). The procedures are those of
 * `createGatehouseClient`, run by the same code.
 */
import type { PlainFetch } from './internal/oauth.js'
import type { BearerSource } from './internal/session.js'
import type { GatehouseClient, GatehouseClientOptions } from './types.js'
import { buildClient } from './client.js'
import { cachedDiscovery, defaultFetch, issuerOf, OAuthTokenError, tokenAnswer } from './internal/oauth.js'
import { createRefresher } from './internal/session.js'

export { OAuthTokenError }

export interface ServiceClientOptions extends Pick<GatehouseClientOptions, 'fetch' | 'headers' | 'batch' | 'now'> {
  /**
   * Where the Gatehouse server listens, without `/trpc`.
   * @example 'https://auth.example.com'
   */
  url: string | URL
  /** The client_id `gatehouse createclient --grants client_credentials` printed. */
  clientId: string
  /** Its client secret (printed once, at creation). */
  clientSecret: string
  /**
   * The scopes to ask for, space separated or as a list (`'read write'`); each must be registered
   * for the client. Required: a token asked for without scopes carries none, and reaches nothing.
   */
  scopes: string | readonly string[]
  /**
   * The OAuth issuer, whose discovery document names the token endpoint. Set it when the server's
   * OAUTH_ISSUER is not `<url>/oauth`.
   * @default `${url}/oauth`
   */
  issuer?: string | URL
  /**
   * A resource indicator (RFC 8707) to ask the token for.
   * @default none: the server's own API (OAUTH_RESOURCE)
   */
  resource?: string
  /**
   * Renew the token this long before it expires (at most half its life), so a call never goes
   * out with a token about to lapse.
   * @default 30
   */
  renewBeforeSeconds?: number
}

/** What `createServiceClient` returns: the typed procedures, and the token they are sent with. */
export interface ServiceClient extends GatehouseClient {
  /** A valid access token (fetched or renewed if needed), for calling something else with it. */
  accessToken: () => Promise<string>
}

interface HeldToken {
  value: string
  /** Client clock, ms: when to renew ahead, and when it lapses. */
  renewAt: number
  expiresAt: number
}

function scopeParam(scopes: ServiceClientOptions['scopes'] | undefined): string {
  const list = typeof scopes === 'string' ? scopes.split(/\s+/) : Array.isArray(scopes) ? [...(scopes as string[])] : []
  return list.filter(Boolean).join(' ')
}

function clientCredentialsSource(opts: ServiceClientOptions, fetch: PlainFetch) {
  const now = opts.now ?? Date.now
  const renewBeforeMs = (opts.renewBeforeSeconds ?? 30) * 1000
  // RFC 6749 §2.3.1: id and secret are form-encoded, then joined for HTTP Basic.
  const basic = `Basic ${btoa(`${encodeURIComponent(opts.clientId)}:${encodeURIComponent(opts.clientSecret)}`)}`
  const endpoints = cachedDiscovery(issuerOf(opts), fetch)
  let held: HeldToken | undefined
  let generation = 0

  async function fetchToken(): Promise<HeldToken> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    form.set('scope', scopeParam(opts.scopes))
    if (opts.resource) form.set('resource', opts.resource)
    const { token } = await endpoints()
    const sentAt = now()
    const body = await tokenAnswer(
      await fetch(token, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: basic,
        },
        body: form.toString(),
      }),
    )
    const expiresIn = body['expires_in']
    // Without expires_in the token is kept until the server refuses it (then renewed and retried).
    const lifetimeMs = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn * 1000 : Number.POSITIVE_INFINITY
    return {
      value: body.access_token,
      renewAt: sentAt + lifetimeMs - Math.min(renewBeforeMs, lifetimeMs / 2),
      expiresAt: sentAt + lifetimeMs,
    }
  }

  const refresher = createRefresher({
    generation: () => generation,
    async run() {
      held = await fetchToken()
      generation += 1
      return held.value
    },
  })

  async function accessToken(): Promise<string> {
    if (!held || now() >= held.renewAt) {
      try {
        await refresher.refresh()
      } catch (error) {
        // Renewing early failed: a token that has not lapsed still goes out.
        if (!held || now() >= held.expiresAt) throw error
      }
    }
    if (!held) throw new OAuthTokenError({ error: 'invalid_response', status: 0, description: 'no token' })
    return held.value
  }

  const source: BearerSource = {
    get generation() {
      return generation
    },
    refresh: () => refresher.refresh(),
    refreshSince: (sentAt) => refresher.refreshSince(sentAt),
    settled: () => refresher.settled(),
    authorization: async () => `Bearer ${await accessToken()}`,
  }
  return { source, accessToken }
}

/**
 * Creates a client that calls a Gatehouse server as an OAuth client, with client-credentials
 * tokens: it acts as the client's service user (`client:<client_id>`), within the scopes asked
 * for. Procedures that declare no scope answer OAuth tokens 403, and `can()`/`loadPermissions()`
 * need `auth.me`, which is one of them.
 *
 * @example
 * ```ts
 * import { createServiceClient } from '@gatehouse/sdk'
 *
 * const billing = createServiceClient({
 *   url: 'https://auth.example.com',
 *   clientId: process.env.BILLING_CLIENT_ID,
 *   clientSecret: process.env.BILLING_CLIENT_SECRET,
 *   scopes: 'read write',
 * })
 * const { items } = await billing.articles.list()
 * ```
 */
export function createServiceClient(opts: ServiceClientOptions): ServiceClient {
  if (!opts?.url) throw new TypeError('createServiceClient(): `url` is required, such as https://auth.example.com')
  for (const name of ['clientId', 'clientSecret'] as const) {
    if (typeof opts[name] !== 'string' || !opts[name]) {
      throw new TypeError(`createServiceClient(): \`${name}\` is required (from gatehouse createclient)`)
    }
  }
  if (!scopeParam(opts.scopes)) {
    throw new TypeError("createServiceClient(): `scopes` is required, such as 'read write'")
  }
  const renewBefore = opts.renewBeforeSeconds
  if (renewBefore !== undefined && !(Number.isFinite(renewBefore) && renewBefore >= 0)) {
    throw new TypeError('createServiceClient(): `renewBeforeSeconds` must be a number of seconds, 0 or more')
  }
  const fetch = (opts.fetch as PlainFetch | undefined) ?? defaultFetch
  const { source, accessToken } = clientCredentialsSource(opts, fetch)
  const client = buildClient(
    {
      url: opts.url,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.headers ? { headers: opts.headers } : {}),
      ...(opts.batch === undefined ? {} : { batch: opts.batch }),
      ...(opts.now ? { now: opts.now } : {}),
    },
    source,
  )
  const service: ServiceClient = Object.assign(client, { accessToken })
  return service
}
