/**
 * Domain errors, jose-style: one class, a closed set of stable codes. Only the server's edge
 * (apps/server/src/kit/wire-errors.ts) turns them into wire errors. Programmer mistakes (bad options, a
 * missing key) are TypeErrors instead, so they can never pass for a bad credential.
 */

export const AUTH_ERROR_MESSAGES = {
  NOT_AUTHENTICATED: 'Authentication credentials were not provided.',
  AUTH_HEADER_INVALID: 'Authorization header must contain two space-delimited values',
  INVALID_CREDENTIALS: 'Invalid credentials',
  TOKEN_INVALID: 'Token is invalid or expired',
  TOKEN_EXPIRED: 'Token is invalid or expired',
  TOKEN_WRONG_TYPE: 'Token has wrong type',
  TOKEN_BLACKLISTED: 'Token is blacklisted',
  // The user's token epoch moved on (password change, deactivation, role change, log out everywhere).
  TOKEN_REVOKED: 'Token has been revoked',
  // simplejwt's sliding refresh past SLIDING_TOKEN_REFRESH_LIFETIME.
  TOKEN_REFRESH_EXPIRED: "Token 'refresh_exp' claim has expired",
  SESSION_INVALID: 'Session is invalid or expired',
  // Django's CSRF failures as DRF's SessionAuthentication reports them (the reason varies).
  CSRF_FAILED: 'CSRF Failed: CSRF token missing.',
  USER_NOT_FOUND: 'User not found',
  USER_INACTIVE: 'User is inactive',
  PASSWORD_INVALID: 'The password does not meet the requirements.',
  USERNAME_TAKEN: 'A user with that username already exists.',
  NOT_PERMITTED: 'You do not have permission to perform this action.',
  NOT_FOUND: 'Not found.',
  INVALID_INPUT: 'Invalid input.',
  THROTTLED: 'Request was throttled.',
  // More password hashing queued than can finish within PASSWORD_HASH_MAX_WAIT (503, Retry-After).
  UNAVAILABLE: 'The server is busy; try again later.',
  // DRF TokenAuthentication's messages, for `Authorization: Token <key>`.
  API_TOKEN_INVALID: 'Invalid token.',
  API_TOKEN_HEADER_EMPTY: 'Invalid token header. No credentials provided.',
  API_TOKEN_HEADER_SPACES: 'Invalid token header. Token string should not contain spaces.',
  API_TOKEN_USER_INACTIVE: 'User inactive or deleted.',
} as const satisfies Record<string, string>

export type AuthErrorCode = keyof typeof AUTH_ERROR_MESSAGES

export interface AuthErrorOptions {
  message?: string
  cause?: unknown
  /** Per-field messages, Django-style: `{ password: ['This password is too short. …'] }`. */
  fieldErrors?: Record<string, string[]>
  /** THROTTLED, UNAVAILABLE: whole seconds until the caller may try again (the `Retry-After` header). */
  retryAfterSeconds?: number
}

export class AuthError extends Error {
  override readonly name = 'AuthError'
  readonly code: AuthErrorCode
  readonly fieldErrors: Record<string, string[]> | undefined
  readonly retryAfterSeconds: number | undefined

  constructor(code: AuthErrorCode, opts: AuthErrorOptions = {}) {
    super(opts.message ?? AUTH_ERROR_MESSAGES[code], { cause: opts.cause })
    this.code = code
    this.fieldErrors = opts.fieldErrors
    this.retryAfterSeconds = opts.retryAfterSeconds
  }
}

export function isAuthError(value: unknown): value is AuthError {
  return value instanceof AuthError
}
