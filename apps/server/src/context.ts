import type { AccessLookup, Authenticator, AuthRequest, AuthService, AuthUser, RequestMeta } from '@gatehouse/auth'
import {
  authenticateRequest,
  AuthenticatorFailure,
  AuthError,
  challengeOf,
  createAccessLookup,
  hasAnyCredential,
} from '@gatehouse/auth'

import type { Config } from './config.js'
import { resolveAuthenticators } from './authenticators.js'

export interface ContextDeps {
  auth: AuthService
  config: Config
  /**
   * The authenticators in the order they are tried (see authenticators.ts).
   * @default the built-ins in AUTH_SCHEMES order
   */
  authenticators?: readonly Authenticator[] | undefined
}

/** What a request carries that can identify its caller. */
export interface Credentials {
  authorization?: string | undefined
  /** Every request header, names in lower case, for authenticators that read others (`X-API-Key`). */
  headers?: Readonly<Record<string, string | undefined>> | undefined
  /** The client's address (the socket's remote address); throttles count anonymous callers by it. */
  address?: string | undefined
}

export const NO_CREDENTIALS: Credentials = {}

/**
 * Where a request came from, for throttling. Optional, because in-process callers (createCaller,
 * the CLI) have no address and are not throttled as anonymous.
 */
export interface RequestOrigin {
  address?: string | undefined
  /** Whether the request carries a credential: only then may throttling pay for authentication. */
  hasCredentials?: boolean
}

// The JWT endpoints' own 401s (auth.refresh, auth.verify) are about a Bearer-style token.
const JWT_CHALLENGE = 'Bearer realm="api"'

// Which authenticator threw each credential error, so the edge can name its scheme.
const failedBy = new WeakMap<object, Authenticator>()

/**
 * The WWW-Authenticate value for a 401 caused by `cause`: the scheme whose credential failed;
 * for no credential at all, the first scheme tried (DRF's rule); otherwise (the JWT endpoints'
 * own refusals), the Bearer one.
 */
export function challengeFor(cause: unknown, authenticators: readonly Authenticator[]): string {
  const failed = typeof cause === 'object' && cause !== null ? failedBy.get(cause) : undefined
  if (failed) return challengeOf(failed)
  const first = authenticators[0]
  if (first && cause instanceof AuthError && cause.code === 'NOT_AUTHENTICATED') return challengeOf(first)
  return JWT_CHALLENGE
}

/**
 * The context without HTTP, for tests and the CLI (tRPC's createContextInner). Authentication is
 * lazy and memoised: a public procedure never pays for it, a protected one pays once.
 */
export function createContextInner(deps: ContextDeps, credentials: Credentials = NO_CREDENTIALS) {
  const authenticators = deps.authenticators ?? resolveAuthenticators(deps)
  const request: AuthRequest = {
    authorization: credentials.authorization,
    headers: credentials.headers ?? (credentials.authorization ? { authorization: credentials.authorization } : {}),
    address: credentials.address,
  }
  let cached: Promise<AuthUser | null> | undefined
  let access: Promise<AccessLookup> | undefined
  const authenticateOnce = () =>
    (cached ??= authenticateRequest(authenticators, request).then(
      (result) => result.user,
      (error: unknown) => {
        if (!(error instanceof AuthenticatorFailure)) throw error
        if (typeof error.error === 'object' && error.error !== null) failedBy.set(error.error, error.authenticator)
        throw error.error // the authenticator's own AuthError reaches the edge unwrapped
      },
    ))
  const origin: RequestOrigin = {
    address: credentials.address,
    hasCredentials: hasAnyCredential(authenticators, request),
  }
  return {
    auth: deps.auth,
    config: deps.config,
    ...origin,
    /** Who is calling from where, for the audit log and login's failure counters. */
    meta: { address: credentials.address, userAgent: request.headers['user-agent'] } as RequestMeta,
    authenticate: authenticateOnce,
    /** The caller's grants, looked up on first use and kept for this request. */
    access: () => (access ??= authenticateOnce().then((user) => createAccessLookup(deps.auth.db, user))),
  }
}

export type Context = ReturnType<typeof createContextInner>
