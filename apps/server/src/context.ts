import type {
  AccessLookup,
  Authenticator,
  AuthRequest,
  AuthResponse,
  AuthService,
  AuthUser,
  RequestMeta,
  ResponseCookie,
} from '@gatehouse/auth'
import { authenticateRequest, AuthenticatorFailure, createAccessLookup, hasAnyCredential } from '@gatehouse/auth'

import type { Config } from './config.js'
import { resolveAuthenticators } from './authenticators.js'
import { noteFailedBy } from './kit/challenge.js'

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
  /** The client's address (the peer, or per NUM_PROXIES from X-Forwarded-For); throttles count anonymous callers by it. */
  address?: string | undefined
  /** The HTTP side of the request; in-process calls (createCaller, the CLI) have none. */
  http?: HttpRequestInfo | undefined
}

/** What the HTTP layer adds to a request's credentials: method, cookies, TLS, response cookies. */
export interface HttpRequestInfo {
  method: string
  /** The `Cookie` header by name; unset (and never parsed) when the request sent none. */
  cookies?: Readonly<Record<string, string>> | undefined
  /** Whether the request arrived over TLS: its own origin's scheme, and `Secure` under COOKIE_SECURE=auto. */
  secure: boolean
  /** Where the response's `Set-Cookie` values are collected. */
  response: AuthResponse
}

/** A request as authenticators see it, with its HTTP parts present. */
export type HttpAuthRequest = AuthRequest & { method: string; secure: boolean; response: AuthResponse }

/** What a procedure sees of HTTP (`ctx.http`); absent for in-process calls. */
export interface HttpExchange {
  /** The request as authenticators see it: method, headers, cookies, TLS (for CSRF checks). */
  request: HttpAuthRequest
  /** Sets, or with `maxAge: 0` clears, a response cookie; on errors too. */
  setCookie(cookie: ResponseCookie): void
  /** The scheme that authenticated this request (`session`, `bearer`…), null for anonymous. */
  authenticatedBy(): Promise<string | null>
}

export const NO_CREDENTIALS: Credentials = {}

/**
 * Where a request came from, for throttling. Optional, because in-process callers (createCaller,
 * the CLI) have no address and are not throttled as anonymous.
 */
export interface RequestOrigin {
  address?: string | undefined
  /**
   * Whether the request carries a credential: only then may throttling pay for authentication.
   * Asked only when a throttle is on, so a request does not run every authenticator's check for nothing.
   */
  hasCredentials?: () => boolean
}

/**
 * The context without HTTP, for tests and the CLI (tRPC's createContextInner). Authentication is
 * lazy and memoised: a public procedure never pays for it, a protected one pays once.
 */
export function createContextInner(deps: ContextDeps, credentials: Credentials = NO_CREDENTIALS): Context {
  const authenticators = deps.authenticators ?? resolveAuthenticators(deps)
  const headers = credentials.headers ?? (credentials.authorization ? { authorization: credentials.authorization } : {})
  const http = credentials.http
  // Built field by field, not by spreading: this runs once per request (docs/performance.md).
  const httpRequest: HttpAuthRequest | undefined = http && {
    authorization: credentials.authorization,
    headers,
    address: credentials.address,
    method: http.method,
    cookies: http.cookies,
    secure: http.secure,
    response: http.response,
  }
  const request: AuthRequest = httpRequest ?? {
    authorization: credentials.authorization,
    headers,
    address: credentials.address,
  }
  let cached: Promise<AuthUser | null> | undefined
  let access: Promise<AccessLookup> | undefined
  let decidedBy: Authenticator | null = null
  let credentialSeen: boolean | undefined
  const authenticateOnce = () =>
    (cached ??= authenticateRequest(authenticators, request).then(
      (result) => {
        decidedBy = result.authenticator
        return result.user
      },
      (error: unknown) => {
        if (!(error instanceof AuthenticatorFailure)) throw error
        noteFailedBy(error.error, error.authenticator) // so the 401 names its scheme (kit/challenge.ts)
        throw error.error // the authenticator's own AuthError reaches the edge unwrapped
      },
    ))
  return {
    auth: deps.auth,
    config: deps.config,
    address: credentials.address,
    hasCredentials: () => (credentialSeen ??= hasAnyCredential(authenticators, request)),
    meta: { address: credentials.address, userAgent: request.headers['user-agent'] },
    authenticate: authenticateOnce,
    access: () => (access ??= authenticateOnce().then((user) => createAccessLookup(deps.auth.db, user))),
    http: httpRequest && {
      request: httpRequest,
      setCookie: (cookie) => httpRequest.response.setCookie(cookie),
      authenticatedBy: async () => {
        await authenticateOnce()
        return decidedBy?.scheme ?? null
      },
    },
  }
}

/** What every procedure receives (createContextInner builds it, with or without HTTP). */
export interface Context extends RequestOrigin {
  auth: AuthService
  config: Config
  /** Who is calling from where, for the audit log and login's failure counters. */
  meta: RequestMeta
  authenticate: () => Promise<AuthUser | null>
  /** The caller's grants, looked up on first use and kept for this request. */
  access: () => Promise<AccessLookup>
  /** The HTTP exchange: request cookies and CSRF facts, response cookies. Absent in-process. */
  http?: HttpExchange | undefined
}
