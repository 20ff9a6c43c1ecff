/**
 * oidc-provider's configuration for Gatehouse: storage in our database (adapter.ts), accounts from
 * our users table (inactive users are refused), JWT access tokens for our API (`aud` =
 * OAUTH_RESOURCE) recorded by `persistJwt`, PKCE for every client, DOT's scope and refresh rules.
 */
import type { AuthService } from '@gatehouse/auth'
import type {
  Configuration,
  errors as OidcErrors,
  interactionPolicy as OidcInteractionPolicy,
  KoaContextWithOIDC,
} from 'oidc-provider'

import type { Config } from '../config.js'
import { NULL_CHARACTERS } from '../kit/fields.js'
import { persistJwt } from './access-tokens.js'
import { createAdapterFactory } from './adapter.js'
import { isResourceServer } from '../oauth-core/clients.js'
import { existingGrantLoader } from './grants.js'
import { renderErrorPage } from './interactions.js'
import type { OAuthSettings } from '../oauth-core/settings.js'
import { OAUTH_API_SCOPES, OAUTH_COOKIES, OAUTH_PATH, OAUTH_SCOPES } from '../oauth-core/settings.js'
import { claimsFor } from './userinfo.js'

// A remembered grant outlives many rotations of its refresh tokens.
const GRANT_TTL_SECONDS = 365 * 86_400

export interface ConfigurationOptions {
  auth: AuthService
  config: Config
  settings: OAuthSettings
  /** The ring's keys, decrypted, the signing one first (the provider signs with the first). */
  jwks: Record<string, unknown>[]
  /** Signs the provider's cookies. */
  cookieKey: string
  /** oidc-provider's own, loaded with it at the first OAuth request. */
  errors: typeof OidcErrors
  interactionPolicy: typeof OidcInteractionPolicy
}

export function providerConfiguration(opts: ConfigurationOptions): Configuration {
  const { auth, config, settings, jwks, cookieKey, errors, interactionPolicy } = opts
  const db = auth.db
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
    loadExistingGrant: existingGrantLoader(db),
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
