/**
 * Pluggable authentication, like DRF's `DEFAULT_AUTHENTICATION_CLASSES`: authenticators are
 * tried in order and the first one that returns a user or throws decides.
 *
 * The contract that keeps this safe: an authenticator returns `null` only when the request
 * carries no credential of its kind, and throws an `AuthError` when it carries one that is bad.
 * A bad credential therefore ends the chain with a 401; it never falls through to the next
 * scheme or to anonymous.
 */
import type { AuthUser } from '../users/user.js'

/** What an authenticator may look at: the request without the HTTP machinery. */
export interface AuthRequest {
  /** The `Authorization` header, as sent. */
  authorization?: string | undefined
  /** Every request header, names in lower case. */
  headers: Readonly<Record<string, string | undefined>>
  /** The client's address (the socket's peer); unset for in-process calls. */
  address?: string | undefined
  /** The HTTP method, upper case; unset for in-process calls, which are never cross-site. */
  method?: string | undefined
  /** The `Cookie` header by name (the first of a repeated name); unset when none was sent. */
  cookies?: Readonly<Record<string, string>> | undefined
  /** Whether the request arrived over TLS: the scheme of its own origin, for CSRF's Origin check. */
  secure?: boolean | undefined
  /** Where cookies for the response go (a slid session, a cleared dead one); unset in-process. */
  response?: AuthResponse | undefined
}

/**
 * A cookie for the response. The server adds `Secure` by its COOKIE_SECURE policy; `maxAge: 0`
 * with an empty value clears the cookie.
 */
export interface ResponseCookie {
  name: string
  value: string
  /** Seconds; 0 deletes the cookie. */
  maxAge: number
  /** @default '/' */
  path?: string | undefined
  httpOnly?: boolean | undefined
  /** @default 'Lax' */
  sameSite?: 'Strict' | 'Lax' | 'None' | undefined
}

/** The response side an authenticator may touch: its cookies only. */
export interface AuthResponse {
  /** Sets (or, with `maxAge: 0`, clears) a cookie; the last call for a name and path wins. */
  setCookie(cookie: ResponseCookie): void
}

/**
 * One authentication scheme.
 *
 * @example
 * ```ts
 * const apiKey: Authenticator = {
 *   scheme: 'api-key',
 *   challenge: 'ApiKey',
 *   hasCredential: (request) => request.headers['x-api-key'] !== undefined,
 *   async authenticate(request) {
 *     const key = request.headers['x-api-key']
 *     if (key === undefined) return null // not ours: the next scheme decides
 *     const user = await lookUp(key)
 *     if (!user) throw new AuthError('API_TOKEN_INVALID') // ours and bad: a 401, never anonymous
 *     return user
 *   },
 * }
 * ```
 */
export interface Authenticator {
  /** The name `AUTH_SCHEMES` lists it by, lower case: `bearer`, `token`, `api-key`. */
  readonly scheme: string
  /**
   * The `WWW-Authenticate` value of a 401 this scheme causes (DRF's `authenticate_header`), and
   * of an anonymous 401 when it comes first in the order.
   * @default the scheme name
   */
  readonly challenge?: string
  /**
   * Whether the request carries a credential of this kind, from the headers and cookies alone: no
   * I/O, no verification. Throttling uses it to decide whether a request may pay for authentication.
   * @default a function answering `true` (the request may always carry one)
   */
  hasCredential?(request: AuthRequest): boolean
  /**
   * The user the credential names; `null` when the request carries no credential of this kind
   * (and then without touching the database). Throws `AuthError` for a bad credential.
   */
  authenticate(request: AuthRequest): Promise<AuthUser | null>
}

/** The authenticator that decided a request, and its answer. */
export interface AuthenticationResult {
  user: AuthUser | null
  /** Who returned the user; null when nobody recognised a credential (anonymous). */
  authenticator: Authenticator | null
}

/** The `WWW-Authenticate` value for a 401 caused by `authenticator`. */
export function challengeOf(authenticator: Authenticator): string {
  return authenticator.challenge ?? authenticator.scheme
}

/** Whether any of `authenticators` sees a credential of its kind in the request (no I/O). */
export function hasAnyCredential(authenticators: readonly Authenticator[], request: AuthRequest): boolean {
  return authenticators.some((a) => (a.hasCredential ? a.hasCredential(request) : true))
}

/**
 * Runs the authenticators in order. The first to return a user wins; the first to throw ends
 * the chain with its error, which carries the failing authenticator in `failedBy`.
 *
 * @example
 * ```ts
 * const { user } = await authenticateRequest([bearer, token], { authorization: 'Token …', headers: {} })
 * ```
 */
export async function authenticateRequest(
  authenticators: readonly Authenticator[],
  request: AuthRequest,
): Promise<AuthenticationResult> {
  for (const authenticator of authenticators) {
    let user: AuthUser | null
    try {
      user = await authenticator.authenticate(request)
    } catch (error) {
      throw new AuthenticatorFailure(authenticator, error)
    }
    if (user) return { user, authenticator }
  }
  return { user: null, authenticator: null }
}

/**
 * Thrown by `authenticateRequest` around an authenticator's error, so the edge knows which
 * scheme to name in `WWW-Authenticate`. `error` is what the authenticator threw.
 */
export class AuthenticatorFailure extends Error {
  override readonly name = 'AuthenticatorFailure'
  readonly authenticator: Authenticator
  readonly error: unknown

  constructor(authenticator: Authenticator, error: unknown) {
    super(error instanceof Error ? error.message : String(error), { cause: error })
    this.authenticator = authenticator
    this.error = error
  }
}
