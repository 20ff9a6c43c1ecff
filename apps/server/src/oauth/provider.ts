/**
 * The OAuth 2 / OpenID Connect authorization server: oidc-provider (OpenID Certified), configured
 * for Gatehouse and mounted at /oauth on our node:http server. This module builds the provider and
 * routes each request; the parts live beside it:
 *
 * - configuration.ts: the provider's configuration (storage in adapter.ts, accounts from our users
 *   table, scopes, PKCE, lifetimes); grants.ts: which earlier grant a request reuses.
 * - access-tokens.ts: access tokens for our API are JWTs (`typ: at+jwt`, `aud` = OAUTH_RESOURCE)
 *   signed with the keys our JWKS publishes, each recorded so it can be revoked and introspected.
 * - userinfo.ts: /oauth/me for those JWTs; rewrite.ts: what a request is changed into before the
 *   provider sees it; prune.ts: expired records removed in the background; responses.ts.
 * - Client secrets are compared as SHA-256 digests in constant time; only the digest is stored.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

import type { AuthService } from '@gatehouse/auth'
import { KeyRing } from '@gatehouse/auth'
import type { default as Provider } from 'oidc-provider'

import type { Config } from '../config.js'
import { HttpError } from '../kit/body.js'
import { redirectUriProblem } from '../oauth-core/clients.js'
import { providerConfiguration } from './configuration.js'
import { createInteractionHandler } from './interactions.js'
import { createPruner } from './prune.js'
import { markCookiesSecure, sendJson } from './responses.js'
import { mountUnderOAuthPath, withJwtAsJti } from './rewrite.js'
import { persistedSecret, sealOAuthSecrets, secretMatchesHash } from '../oauth-core/secret.js'
import type { OAuthSettings } from '../oauth-core/settings.js'
import { OAUTH_PATH, OAuthSettingsRef } from '../oauth-core/settings.js'
import { createUserinfoHandler } from './userinfo.js'

const INTROSPECTION_PATH = `${OAUTH_PATH}/token/introspection`
const REVOCATION_PATH = `${OAUTH_PATH}/token/revocation`
const USERINFO_PATH = `${OAUTH_PATH}/me`

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
    const configuration = providerConfiguration({ auth, config, settings, jwks, cookieKey, errors, interactionPolicy })
    const provider = new Provider(settings.issuer, configuration)
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
  const userinfo = createUserinfoHandler({ auth, db, keys, settingsRef })
  const prune = createPruner(db, (error) => opts.onError?.(error, 'oauth prune'))

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
          forwarded = await withJwtAsJti(req, { keys, settingsRef })
        } catch (error) {
          if (!(error instanceof HttpError)) throw error
          return sendJson(res, {
            status: error.status,
            body: { error: 'invalid_request', error_description: 'request body too large' },
            headers: error.headers,
          })
        }
      }
      mountUnderOAuthPath(forwarded)
      await callback(forwarded, res)
    },
  }
}
