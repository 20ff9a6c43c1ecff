/**
 * Which authenticators a server runs, and in what order: AUTH_SCHEMES names them, like DRF's
 * DEFAULT_AUTHENTICATION_CLASSES. The built-ins are `bearer` (JWT access tokens), `token`
 * (opaque API keys), `session` (the `sessionid` cookie) and `cookie` (the JWT `access` cookie);
 * an app adds its own through `startApp({ authenticators: [...] })` without touching this file.
 */
import type { Authenticator, AuthService } from '@gatehouse/auth'
import { bearerAuthenticator, cookieAuthenticator, sessionAuthenticator, tokenAuthenticator } from '@gatehouse/auth'

import type { Config } from './config.js'
import { BUILTIN_AUTH_SCHEMES, ConfigError } from './config.js'

/** What a custom authenticator is built from, once the app's auth service exists. */
export interface AuthenticatorDeps {
  auth: AuthService
  config: Config
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

function builtins({ auth, config }: AuthenticatorDeps): Record<(typeof BUILTIN_AUTH_SCHEMES)[number], Authenticator> {
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
  }
}

/**
 * The authenticators in AUTH_SCHEMES order. Unset, the order is `bearer,token,session,cookie` then the
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
