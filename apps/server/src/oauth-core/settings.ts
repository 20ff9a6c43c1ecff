/**
 * What the OAuth authorization server (oauth/provider.ts, at /oauth) and the resource side (the
 * OAuth authenticator) agree on: who issues tokens, for which audience, for how long, with which
 * scopes. Read from the config; the issuer defaults to the bound URL, so it is only known once
 * the server listens (`OAuthSettingsRef`).
 */
import type { KeyRing } from '@gatehouse/auth'

import type { Config, OAuthGrantType } from '../config.js'

/** Where the authorization server is mounted on our HTTP server. */
export const OAUTH_PATH = '/oauth'

/**
 * The provider's cookies. The session cookie (a browser's sign-in at the OAuth server) has
 * `Path=/`, so the browser sends it to Gatehouse's own logout too, which ends it (oauth-core/sign-out.ts).
 */
export const OAUTH_COOKIES = {
  session: 'oauth_session',
  interaction: 'oauth_interaction',
  resume: 'oauth_interaction_resume',
} as const

/** Scopes that narrow what a token may do on our API (DOT's `read` / `write`). */
export const OAUTH_API_SCOPES = ['read', 'write'] as const
/** OpenID Connect's own scopes: who the user is (ID token, userinfo) and whether a refresh token is issued. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const
/** Every scope the server knows; a client is registered with a subset. */
export const OAUTH_SCOPES = [...OIDC_SCOPES, ...OAUTH_API_SCOPES] as const
export type OAuthScope = (typeof OAUTH_SCOPES)[number]

export interface OAuthSettings {
  /** `iss` of every token: OAUTH_ISSUER, else `<bound URL>/oauth`. No trailing slash. */
  issuer: string
  /** The resource indicator our API answers to: the `aud` of its access tokens (OAUTH_RESOURCE). */
  resource: string
  /** OAUTH_ACCESS_TOKEN_LIFETIME (DOT's ACCESS_TOKEN_EXPIRE_SECONDS). */
  accessTokenTtlSeconds: number
  /** OAUTH_REFRESH_TOKEN_LIFETIME (DOT's REFRESH_TOKEN_EXPIRE_SECONDS). */
  refreshTokenTtlSeconds: number
  /** OAUTH_AUTHORIZATION_CODE_LIFETIME (DOT's AUTHORIZATION_CODE_EXPIRE_SECONDS). */
  authorizationCodeTtlSeconds: number
  /** ID tokens live as long as access tokens. */
  idTokenTtlSeconds: number
  /** The grants the server offers (OAUTH_GRANTS). */
  grants: readonly OAuthGrantType[]
  /** Every scope a client may be registered with. */
  scopes: readonly OAuthScope[]
  /** The JWT algorithm access and ID tokens are signed with (JWT_ALGORITHM, or EdDSA under HS256). */
  algorithm: 'EdDSA' | 'ES256' | 'RS256'
}

/** The settings for a server bound at `boundUrl` (`http://host:port`, no trailing slash). */
export function resolveOAuthSettings(config: Config, boundUrl: string): OAuthSettings {
  return Object.freeze({
    issuer: config.oauthIssuer ?? `${boundUrl.replace(/\/+$/, '')}${OAUTH_PATH}`,
    resource: config.oauthResource,
    accessTokenTtlSeconds: config.oauthAccessTokenLifetimeSeconds,
    refreshTokenTtlSeconds: config.oauthRefreshTokenLifetimeSeconds,
    authorizationCodeTtlSeconds: config.oauthAuthorizationCodeLifetimeSeconds,
    idTokenTtlSeconds: config.oauthAccessTokenLifetimeSeconds,
    grants: config.oauthGrants,
    scopes: OAUTH_SCOPES,
    // HS256 signs with a shared secret nobody outside may hold; OAuth tokens are verified by other parties.
    algorithm: config.jwtAlgorithm === 'HS256' ? 'EdDSA' : config.jwtAlgorithm,
  })
}

/**
 * The settings once the server is bound. Built before `listen` and handed to request handling and
 * authenticators; `get()` before `bind()` is a programming error (no request arrives before it).
 */
export class OAuthSettingsRef {
  #settings: OAuthSettings | null = null
  readonly #config: Config
  /**
   * The keys OAuth tokens are signed with and verify against: the auth service's KeyRing (published at
   * /.well-known/jwks.json), or under JWT_ALGORITHM=HS256 an EdDSA ring of the OAuth server's own (published at
   * /oauth/jwks only: /.well-known/jwks.json stays empty under HS256).
   */
  readonly keys: KeyRing

  constructor(config: Config, keys: KeyRing) {
    this.#config = config
    this.keys = keys
  }

  bind(boundUrl: string): OAuthSettings {
    this.#settings = resolveOAuthSettings(this.#config, boundUrl)
    return this.#settings
  }

  get(): OAuthSettings {
    if (!this.#settings) throw new TypeError('OAuth settings are read before the server is bound')
    return this.#settings
  }
}
