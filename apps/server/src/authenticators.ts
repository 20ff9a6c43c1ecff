/**
 * Which authenticators a server runs, and in what order: AUTH_SCHEMES names them, like DRF's
 * DEFAULT_AUTHENTICATION_CLASSES. The built-ins are `bearer` (JWT access tokens), `token`
 * (opaque API keys), `session` (the `sessionid` cookie), `cookie` (the JWT `access` cookie) and
 * `oauth` (access tokens of our OAuth server, `typ: at+jwt`); an app adds its own through
 * `startApp({ authenticators: [...] })` without touching this file.
 */
import type { Authenticator, AuthService } from '@gatehouse/auth'
import {
  AuthError,
  bearerAuthenticator,
  cookieAuthenticator,
  isOAuthAccessToken,
  oauthAuthenticator,
  oauthPrincipalLoader,
  sessionAuthenticator,
  tokenAuthenticator,
} from '@gatehouse/auth'

import type { Config } from './config.js'
import type { OAuthSettingsRef } from './oauth-core/settings.js'
import { BUILTIN_AUTH_SCHEMES, ConfigError } from './config.js'

/** What a custom authenticator is built from, once the app's auth service exists. */
export interface AuthenticatorDeps {
  auth: AuthService
  config: Config
  /**
   * The OAuth server's settings once bound, and the keys its tokens verify against. Without it
   * (an in-process context with no server) every OAuth access token is refused as invalid.
   */
  oauth?: OAuthSettingsRef | undefined
}

/**
 * A custom authentication scheme. Built once at start; the authenticator's `scheme` is the name
 * AUTH_SCHEMES lists it by.
 *
 * @example
 * ```ts
 * const apiKey: AuthenticatorFactory = ({ auth }) => ({
 *   scheme: 'api-key',
 *   hasCredential: (request) => request.headers['x-api-key'] !== undefined,
 *   authenticate: async (request) => … , // null when absent, AuthError when bad
 * })
 * await startApp({ config, authenticators: [apiKey] })
 * ```
 */
export type AuthenticatorFactory = (deps: AuthenticatorDeps) => Authenticator

/** The `oauth` scheme: read the settings per request, since the issuer is known only after listen. */
function oauthScheme({ auth, oauth }: AuthenticatorDeps): Authenticator {
  if (!oauth) {
    return {
      scheme: 'oauth',
      hasCredential: isOAuthAccessToken,
      authenticate: (request) =>
        isOAuthAccessToken(request) ? Promise.reject(new AuthError('TOKEN_INVALID')) : Promise.resolve(null),
    }
  }
  const loadPrincipal = oauthPrincipalLoader(auth.db, auth.clock)
  return oauthAuthenticator({ keys: oauth.keys, clock: auth.clock, settings: () => oauth.get(), loadPrincipal })
}

function builtins({
  auth,
  config,
  oauth,
}: AuthenticatorDeps): Record<(typeof BUILTIN_AUTH_SCHEMES)[number], Authenticator> {
  const trustedOrigins = config.csrfTrustedOrigins
  return {
    bearer: bearerAuthenticator({ verify: (token) => auth.authenticateAccessToken(token) }),
    token: tokenAuthenticator({ verify: (key) => auth.authenticateApiToken(key) }),
    session: sessionAuthenticator({
      verify: (key) => auth.authenticateSession(key),
      ageSeconds: auth.sessionAgeSeconds,
      trustedOrigins,
    }),
    cookie: cookieAuthenticator({ verify: (token) => auth.authenticateAccessToken(token), trustedOrigins }),
    oauth: oauthScheme({ auth, config, oauth }),
  }
}

/**
 * The authenticators in AUTH_SCHEMES order. Unset, the order is `bearer,token,session,cookie,oauth` then the
 * custom ones in the order given. A name nobody provides is a ConfigError naming AUTH_SCHEMES; a
 * custom scheme reusing a taken name is a programming error (TypeError).
 *
 * @example
 * ```ts
 * const authenticators = resolveAuthenticators({ auth, config }, [apiKey])
 * ```
 */
export function resolveAuthenticators(
  deps: AuthenticatorDeps,
  custom: readonly AuthenticatorFactory[] = [],
): readonly Authenticator[] {
  const available = new Map<string, Authenticator>(Object.entries(builtins(deps)))
  const customNames: string[] = []
  for (const factory of custom) {
    const authenticator = factory(deps)
    const name = authenticator.scheme
    if (available.has(name)) throw new TypeError(`authenticators: the scheme name "${name}" is already taken`)
    available.set(name, authenticator)
    customNames.push(name)
  }
  const order = deps.config.authSchemes ?? [...BUILTIN_AUTH_SCHEMES, ...customNames]
  return Object.freeze(
    order.map((name) => {
      const authenticator = available.get(name)
      if (!authenticator) {
        const known = [...available.keys()].join(', ')
        throw new ConfigError([`AUTH_SCHEMES: unknown scheme "${name}"; available: ${known}`])
      }
      return authenticator
    }),
  )
}
