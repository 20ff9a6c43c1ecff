/**
 * The OAuth 2 / OpenID Connect authorization server: oidc-provider (OpenID Certified), configured
 * for Gatehouse and mounted at /oauth on our node:http server.
 *
 * - Storage: adapter.ts (our database); accounts: our users table (inactive users are refused).
 * - Access tokens for our API are JWTs (`typ: at+jwt`, `aud` = OAUTH_RESOURCE) signed with the keys
 *   our JWKS publishes. oidc-provider keeps no record of a JWT access token, so `persistJwt` stores
 *   one: that row is what revocation, introspection, a reused code and a deleted client remove,
 *   and what the resource side checks (`isOAuthAccessTokenLive`).
 * - Client secrets are compared as SHA-256 digests in constant time; only the digest is stored.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { IncomingMessage as NodeIncomingMessage } from 'node:http'

import type { AuthService } from '@gatehouse/auth'
import { KeyRing } from '@gatehouse/auth'
import { decodeProtectedHeader, jwtVerify } from 'jose'
import { sql } from 'kysely'
import type {
  Configuration,
  errors as OidcErrors,
  interactionPolicy as OidcInteractionPolicy,
  KoaContextWithOIDC,
  default as Provider,
} from 'oidc-provider'

import type { Config } from '../config.js'
import { HttpError as RestError, readBody } from '../kit/body.js'
import { NULL_CHARACTERS } from '../kit/fields.js'
import { createAdapterFactory, isOAuthAccessTokenLive, pruneOAuthPayloads } from './adapter.js'
import { isResourceServer, redirectUriProblem } from '../oauth-core/clients.js'
import { createInteractionHandler, renderErrorPage } from './interactions.js'
import { persistedSecret, sealOAuthSecrets, secretMatchesHash } from '../oauth-core/secret.js'
import type { OAuthSettings } from '../oauth-core/settings.js'
import { OAUTH_API_SCOPES, OAUTH_COOKIES, OAUTH_PATH, OAUTH_SCOPES, OAuthSettingsRef } from '../oauth-core/settings.js'

const INTROSPECTION_PATH = `${OAUTH_PATH}/token/introspection`
const REVOCATION_PATH = `${OAUTH_PATH}/token/revocation`
const USERINFO_PATH = `${OAUTH_PATH}/me`
const FORM_BODY_LIMIT = 56 * 1024
// A remembered grant outlives many rotations of its refresh tokens.
const GRANT_TTL_SECONDS = 365 * 86_400
const PRUNE_INTERVAL_MS = 10 * 60_000

export interface OAuthServerOptions {
  auth: AuthService
  config: Config
  onError?: ((error: unknown, path: string | undefined) => void) | undefined
}

export interface OAuthServer {
  settings: OAuthSettingsRef
  /**
   * Fixes the settings once the server's URL (and so the default issuer) is known. The provider
   * itself is built at the first OAuth request (and rebuilt when the signing keys change).
   */
  bind(boundUrl: string): void
  /** Answers a request under /oauth. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>
}

interface ProviderState {
  provider: Provider
  /** The provider's node:http handler, made once. */
  callback: (req: IncomingMessage, res: ServerResponse) => Promise<void>
  /** The active keys it was built with, newest (the signing one) first. */
  kids: string
}

/** The OAuth server's signing keys: ours, or under HS256 (a secret nobody else may hold) an EdDSA ring of its own. */
async function oauthKeyRing(auth: AuthService, config: Config): Promise<KeyRing> {
  if (config.jwtAlgorithm !== 'HS256') return auth.keys
  const keys = new KeyRing({
    db: auth.db,
    algorithm: 'EdDSA',
    secrets: auth.secrets,
    refreshIntervalMs: config.keyRefreshIntervalSeconds * 1000,
    clock: auth.clock,
    activationDelaySeconds: config.keyActivationDelaySeconds,
  })
  await keys.init()
  return keys
}

function claimsFor(user: { id: number; username: string; email: string; firstName?: string; lastName?: string }) {
  return {
    sub: String(user.id),
    preferred_username: user.username,
    ...(user.email ? { email: user.email, email_verified: false } : {}),
  }
}

/** Like the RFC 6750 / 7662 answers the provider gives itself. */
function sendJson(res: ServerResponse, reply: { status: number; body: unknown; headers?: Record<string, string> }) {
  const { status, body, headers = {} } = reply
  const payload = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  })
  res.end(payload)
}

export async function createOAuthServer(opts: OAuthServerOptions): Promise<OAuthServer> {
  const { auth, config } = opts
  const db = auth.db
  const keys = await oauthKeyRing(auth, config)
  const settingsRef = new OAuthSettingsRef(config, keys)
  await sealOAuthSecrets(db, auth.secrets) // any still in clear (stored before encryption at rest)
  const cookieKey = await persistedSecret(db, auth.secrets, 'cookie-key')
  const csrfKey = await persistedSecret(db, auth.secrets, 'interaction-csrf-key')
  let state: ProviderState | null = null
  let building: Promise<ProviderState> | null = null
  let lastPrune = 0
  // With several workers on one port a request can arrive between listen and bind: it waits.
  let markBound: () => void = () => undefined
  const bound = new Promise<void>((resolve) => {
    markBound = resolve
  })

  /** `kids`: the key ring's active keys when the build started; the next change of them rebuilds. */
  async function build(settings: OAuthSettings, kids: string): Promise<ProviderState> {
    // oidc-provider (and koa under it) is loaded at the first OAuth request, not at start: about
    // 30 MB resident and 0.1 s of start-up that a server nobody asks for OAuth never pays.
    const { default: Provider, errors, interactionPolicy } = await import('oidc-provider')
    // The ring's keys, decrypted, the signing one first (the provider signs with the first).
    const jwks = keys.privateJwks().map((jwk) => ({ ...jwk, alg: settings.algorithm, use: 'sig' }))
    if (jwks.length === 0) throw new TypeError(`OAuth: no active ${settings.algorithm} signing key`)
    const provider = new Provider(settings.issuer, configuration(settings, jwks, { errors, interactionPolicy }))
    // Clients hold only the SHA-256 of their secret (adapter.ts hands it over as client_secret).
    const clientPrototype = provider.Client.prototype as unknown as {
      clientSecret?: string
      compareClientSecret(actual: string): Promise<boolean>
      redirectUriAllowed: (this: unknown, value: string) => boolean
    }
    clientPrototype.compareClientSecret = function compareClientSecret(actual: string) {
      return Promise.resolve(secretMatchesHash(actual, this.clientSecret))
    }
    // A row registered before http redirect URIs were limited to loopback gets no code sent there: the
    // provider answers with its error page instead of redirecting (clients.ts refuses new ones).
    const registered = clientPrototype.redirectUriAllowed
    clientPrototype.redirectUriAllowed = function redirectUriAllowed(this: unknown, value: string) {
      return redirectUriProblem(value) === null && registered.call(this, value)
    }
    provider.on('server_error', (_ctx: unknown, error: unknown) => opts.onError?.(error, 'oauth'))
    return { provider, callback: provider.callback(), kids }
  }

  function configuration(
    settings: OAuthSettings,
    jwks: Record<string, unknown>[],
    { errors, interactionPolicy }: { errors: typeof OidcErrors; interactionPolicy: typeof OidcInteractionPolicy },
  ): Configuration {
    const alg = settings.algorithm
    return {
      // A code or refresh token consumed by a racing request: the same answer as a sequential replay.
      adapter: createAdapterFactory(db, {
        alreadyConsumed: () => new errors.InvalidGrant('grant request is invalid'),
        nullCharacters: () => new errors.InvalidRequest(NULL_CHARACTERS),
      }),
      jwks: { keys: jwks },
      cookies: {
        names: { ...OAUTH_COOKIES },
        keys: [cookieKey],
        long: { httpOnly: true, sameSite: 'lax' },
        short: { httpOnly: true, sameSite: 'lax' },
      },
      scopes: [...OAUTH_SCOPES],
      claims: {
        openid: ['sub'],
        profile: ['preferred_username'],
        email: ['email', 'email_verified'],
      },
      // ID tokens carry the claims their scopes grant, not only `sub` (OIDC core allows either).
      conformIdTokenClaims: false,
      responseTypes: ['code'],
      clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
      clientDefaults: {
        grant_types: ['authorization_code'],
        id_token_signed_response_alg: alg,
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      enabledJWA: {
        idTokenSigningAlgValues: [alg],
        clientAuthSigningAlgValues: [],
        requestObjectSigningAlgValues: [],
        userinfoSigningAlgValues: [alg],
        introspectionSigningAlgValues: [alg],
        authorizationSigningAlgValues: [alg],
      },
      pkce: {
        // Every client proves possession of its code (S256: the only method oidc-provider knows), the
        // confidential ones too (OAuth 2.1; RFC 9700 §2.1.1): a secret does not stop a code injected
        // into the client's own session, a verifier does.
        required: () => true,
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: settings.grants.includes('client_credentials') },
        introspection: {
          enabled: true,
          // Only a client registered as a resource server may introspect, any token; every other
          // client gets `{active: false}` (RFC 7662 §4), even for its own tokens: otherwise any app
          // could test tokens it found (DOT: the `introspection` scope). The flag is read here rather
          // than carried in the client's metadata: one indexed read per introspection.
          allowedPolicy: (_ctx, client) => isResourceServer(db, client.clientId),
        },
        revocation: {
          enabled: true,
          // RFC 7009 §2.1: a client revokes only the tokens issued to it.
          allowedPolicy: (_ctx, client, token) => {
            if (token.clientId === client.clientId) return true
            if (client.clientAuthMethod === 'none') return false
            throw new errors.InvalidRequest('client is not authorized to revoke the presented token')
          },
        },
        userinfo: { enabled: true },
        rpInitiatedLogout: { enabled: false },
        dPoP: { enabled: false },
        resourceIndicators: {
          enabled: true,
          // Every token is for our API unless the client names it anyway: DOT's tokens are API tokens.
          defaultResource: () => settings.resource,
          useGrantedResource: () => true,
          getResourceServerInfo: (ctx, resourceIndicator, client) => {
            refuseScopesNotGiven(ctx, client, errors)
            if (resourceIndicator !== settings.resource) throw new errors.InvalidTarget()
            return {
              scope: OAUTH_API_SCOPES.join(' '),
              audience: settings.resource,
              accessTokenTTL: settings.accessTokenTtlSeconds,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg } },
            }
          },
        },
      },
      formats: { customizers: { jwt: persistJwt } },
      findAccount: async (_ctx, sub) => {
        const id = Number(sub)
        if (!Number.isSafeInteger(id) || id <= 0) return undefined
        const user = await auth.loadUser(id)
        if (!user?.isActive) return undefined
        return { accountId: sub, claims: () => claimsFor(user) }
      },
      loadExistingGrant,
      interactions: {
        policy: promptsOf(interactionPolicy),
        url: (_ctx, interaction) => `${OAUTH_PATH}/interaction/${interaction.uid}`,
      },
      // DOT issues refresh tokens whenever the client may use them, offline_access or not.
      issueRefreshToken: (_ctx, client) =>
        settings.grants.includes('refresh_token') && client.grantTypeAllowed('refresh_token'),
      rotateRefreshToken: true,
      expiresWithSession: () => false,
      allowOmittingSingleRegisteredRedirectUri: false,
      ttl: {
        AccessToken: settings.accessTokenTtlSeconds,
        ClientCredentials: settings.accessTokenTtlSeconds,
        AuthorizationCode: settings.authorizationCodeTtlSeconds,
        IdToken: settings.idTokenTtlSeconds,
        RefreshToken: settings.refreshTokenTtlSeconds,
        Grant: GRANT_TTL_SECONDS,
        Interaction: 3600,
        Session: config.sessionCookieAgeSeconds,
      },
      renderError: (ctx, out) => {
        ctx.type = 'html'
        ctx.set('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
        ctx.body = renderErrorPage(String(out.error), String(out.error_description ?? ''))
      },
    }
  }

  /** Records a JWT access token so it can be revoked, introspected and checked by the resource side. */
  async function persistJwt(_ctx: KoaContextWithOIDC, token: unknown, parts: { payload: Record<string, unknown> }) {
    const model = token as Record<string, unknown> & {
      jti: string
      constructor: { IN_PAYLOAD: string[] }
      adapter: { upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<void> }
    }
    const payload: Record<string, unknown> = {}
    for (const key of model.constructor.IN_PAYLOAD) {
      if (model[key] !== undefined) payload[key] = model[key]
    }
    const exp = Number(parts.payload.exp)
    payload.iat = parts.payload.iat
    payload.exp = exp
    payload.jti = model.jti
    await model.adapter.upsert(model.jti, payload, Math.max(1, exp - Math.floor(Date.now() / 1000)))
  }

  /**
   * Remembered grants: the one this browser session used, else the newest live grant the user gave
   * this client (a new login does not ask again for what was already allowed).
   */
  async function loadExistingGrant(ctx: KoaContextWithOIDC) {
    const { oidc } = ctx
    const client = oidc.client
    if (!client) return undefined
    const sessionGrant = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(client.clientId)
    if (sessionGrant) {
      const grant = await oidc.provider.Grant.find(sessionGrant)
      if (grant) return grant
    }
    const accountId = oidc.session?.accountId
    if (!accountId) return undefined
    const row = await db
      .selectFrom('oauth_payloads')
      .select('id')
      .where('model', '=', 'Grant')
      .where(sql<string>`payload->>'accountId'`, '=', accountId)
      .where(sql<string>`payload->>'clientId'`, '=', client.clientId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
      .orderBy('expires_at', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row ? oidc.provider.Grant.find(row.id) : undefined
  }

  async function current(): Promise<ProviderState> {
    const signing = await keys.currentSigningKey()
    const active = keys.jwks().keys.map((k) => k.kid)
    const kids = [signing.kid, ...active.filter((kid) => kid !== signing.kid)].join(' ')
    if (state && state.kids === kids) return state
    // A key rotated in or retired (CLI rotatekeys / retirekey, another process): rebuild around the new set, so the
    // newest key signs and /oauth/jwks publishes exactly the keys that verify.
    building ??= build(settingsRef.get(), kids).finally(() => {
      building = null
    })
    state = await building
    return state
  }

  /** The claims of a verified OAuth access token of ours, or null. */
  async function verifyAccessToken(token: string) {
    const settings = settingsRef.get()
    try {
      const { payload } = await jwtVerify(token, keys.resolve, {
        algorithms: [settings.algorithm],
        issuer: settings.issuer,
        audience: settings.resource,
        typ: 'at+jwt',
      })
      if (typeof payload.jti !== 'string' || !(await isOAuthAccessTokenLive(db, payload.jti))) return null
      return payload
    } catch {
      return null
    }
  }

  /** OIDC userinfo for our JWT access tokens (the provider's own endpoint refuses tokens with an audience). */
  async function userinfo(req: IncomingMessage, res: ServerResponse, provider: Provider) {
    // RFC 6750 §3: the error in the body and in the challenge.
    const refuse = (status: number, error: string, description: string) =>
      sendJson(res, {
        status,
        body: { error, error_description: description },
        headers: {
          'www-authenticate': `Bearer realm="${settingsRef.get().issuer}", error="${error}", error_description="${description}"`,
        },
      })
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')
    if (!match?.[1]) return refuse(401, 'invalid_token', 'no access token provided')
    const payload = await verifyAccessToken(match[1])
    // A client-credentials token's `sub` is its client_id, not a user id: looked up, it would be a 500.
    const userId = typeof payload?.sub === 'string' && /^[1-9]\d{0,14}$/.test(payload.sub) ? Number(payload.sub) : 0
    const user = userId > 0 ? await auth.loadUser(userId) : undefined
    if (!payload || !user?.isActive || payload.sub !== String(user.id)) {
      return refuse(401, 'invalid_token', 'invalid token provided')
    }
    // An access token for our API carries the API scopes only; what the user shared about themselves
    // (openid, profile, email) is in the grant the token came from.
    const record = await provider.AccessToken.find(String(payload.jti))
    const grant = record?.grantId ? await provider.Grant.find(record.grantId) : undefined
    const scopes = new Set((grant?.getOIDCScope() ?? '').split(' '))
    if (!scopes.has('openid')) return refuse(403, 'insufficient_scope', 'openid scope required')
    const claims = claimsFor(user)
    sendJson(res, {
      status: 200,
      body: {
        sub: claims.sub,
        ...(scopes.has('profile') ? { preferred_username: claims.preferred_username } : {}),
        ...(scopes.has('email') && claims.email ? { email: claims.email, email_verified: false } : {}),
      },
    })
  }

  /**
   * The provider refuses to introspect or revoke JWTs (it keeps no record of them); ours it has a
   * record of under their `jti`. A JWT that verifies with our keys is handed on as its jti; any other
   * JWT as a value that matches nothing (inactive, and a no-op to revoke, as RFC 7662/7009 want).
   */
  async function withJwtAsJti(req: IncomingMessage): Promise<IncomingMessage> {
    const body = await readBody(req, FORM_BODY_LIMIT)
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase()
    let out = body
    if (type === 'application/x-www-form-urlencoded') {
      const form = new URLSearchParams(body.toString('utf8'))
      const token = form.get('token')
      if (token && isJwt(token)) {
        const settings = settingsRef.get()
        let jti = 'unknown-jwt'
        try {
          // Expired tokens too: introspection answers `active: false` for them from the record.
          const { payload } = await jwtVerify(token, keys.resolve, {
            algorithms: [settings.algorithm],
            issuer: settings.issuer,
            typ: 'at+jwt',
            currentDate: new Date(0),
          })
          if (typeof payload.jti === 'string') jti = payload.jti
        } catch {
          // not one of ours: matches nothing
        }
        form.set('token', jti)
        out = Buffer.from(form.toString(), 'utf8')
      }
    }
    const replay = new NodeIncomingMessage(req.socket)
    replay.method = req.method ?? 'POST'
    replay.url = req.url ?? '/'
    replay.headers = { ...req.headers, 'content-length': String(out.length) }
    replay.rawHeaders = req.rawHeaders
    replay.httpVersion = req.httpVersion
    replay.httpVersionMajor = req.httpVersionMajor
    replay.httpVersionMinor = req.httpVersionMinor
    // Complete as far as node:http is concerned: otherwise its end would count as an abort and destroy the socket.
    replay.complete = true
    replay.push(out)
    replay.push(null)
    return replay
  }

  const interactions = createInteractionHandler({
    auth,
    numProxies: config.numProxies,
    csrfToken: (uid) => createHmac('sha256', csrfKey).update(`interaction:${uid}`).digest('base64url'),
    csrfMatches(uid, presented) {
      const expected = Buffer.from(createHmac('sha256', csrfKey).update(`interaction:${uid}`).digest('base64url'))
      const actual = Buffer.from(presented)
      return actual.length === expected.length && timingSafeEqual(actual, expected)
    },
  })

  function prune() {
    const now = Date.now()
    if (now - lastPrune < PRUNE_INTERVAL_MS) return
    lastPrune = now
    pruneOAuthPayloads(db).catch((error: unknown) => opts.onError?.(error, 'oauth prune'))
  }

  return {
    settings: settingsRef,
    bind(boundUrl) {
      settingsRef.bind(boundUrl)
      markBound()
    },
    async handle(req, res) {
      await bound
      const { provider, callback } = await current()
      const pathname = (req.url ?? '/').split('?', 1)[0] ?? '/'
      prune()
      // COOKIE_SECURE=true (TLS ends at a proxy): the provider marks cookies Secure only on a TLS socket, so the
      // OAuth session cookie (a sign-in to every app) would go out without it.
      if (config.cookieSecure === true) markCookiesSecure(res)
      if (pathname.startsWith(`${OAUTH_PATH}/interaction/`)) return interactions(req, res, provider)
      if (pathname === USERINFO_PATH && (req.method === 'GET' || req.method === 'POST'))
        return userinfo(req, res, provider)
      let forwarded = req
      if ((pathname === INTROSPECTION_PATH || pathname === REVOCATION_PATH) && req.method === 'POST') {
        try {
          forwarded = await withJwtAsJti(req)
        } catch (error) {
          if (!(error instanceof RestError)) throw error
          return sendJson(res, {
            status: error.status,
            body: { error: 'invalid_request', error_description: 'request body too large' },
            headers: error.headers,
          })
        }
      }
      // Mounted under /oauth the way express mounts it: originalUrl keeps the prefix, url drops it.
      const original = forwarded.url ?? '/'
      Object.assign(forwarded, { originalUrl: original, url: original.slice(OAUTH_PATH.length) || '/' })
      await callback(forwarded, res)
    },
  }
}

function markCookiesSecure(res: ServerResponse): void {
  const setHeader = res.setHeader.bind(res)
  res.setHeader = (name: string, value: number | string | readonly string[]) => {
    if (name.toLowerCase() !== 'set-cookie') return setHeader(name, value)
    const lines = (Array.isArray(value) ? value : [String(value)]) as string[]
    return setHeader(
      name,
      lines.map((line) => (/;\s*secure\s*(;|$)/i.test(line) ? line : `${line}; secure`)),
    )
  }
}

/**
 * `invalid_scope` for any requested scope the client was not registered with (DOT's
 * validate_scopes): oidc-provider refuses those it knows of and drops unknown ones silently, so a
 * client asking for `read admin` got a token for `read`. Run from getResourceServerInfo, the one
 * hook the provider calls with the client and the requested scope both at the authorization
 * endpoint (after the redirect URI is checked, so the error goes back to it; every request names
 * our resource, by default) and in the client_credentials grant (after client authentication). A
 * refresh already refuses a scope its token does not hold; the code exchange takes no scope.
 */
function refuseScopesNotGiven(
  ctx: KoaContextWithOIDC,
  client: { scope?: string | undefined },
  errors: typeof OidcErrors,
) {
  const requested = (ctx.oidc.params as { scope?: unknown } | undefined)?.scope
  if (typeof requested !== 'string') return
  const given = new Set((client.scope ?? '').split(' '))
  const missing = [...new Set(requested.split(' '))].filter((scope) => scope !== '' && !given.has(scope))
  if (missing.length > 0) throw new errors.InvalidScope('requested scope is not allowed', missing.join(' '))
}

function isJwt(token: string): boolean {
  try {
    decodeProtectedHeader(token)
    return token.split('.').length === 3
  } catch {
    return false
  }
}

/**
 * oidc-provider's prompts, with one more reason to sign in: a sign-in whose account is gone
 * (deactivated or deleted since; `findAccount` answers nothing for it). The provider would carry
 * on with the session's account id and no account, and fail with a 500 at consent.
 */
function promptsOf(policy: typeof OidcInteractionPolicy) {
  const prompts = policy.base()
  prompts
    .get('login')
    ?.checks.add(
      new policy.Check('account_gone', 'End-User authentication is required', 'login_required', (ctx) =>
        ctx.oidc.session?.accountId && !ctx.oidc.account ? policy.Check.REQUEST_PROMPT : policy.Check.NO_NEED_TO_PROMPT,
      ),
    )
  return prompts
}
