/**
 * The one place where domain errors become wire errors (STYLE.md 3.6).
 */
import type { AuthErrorCode } from '@gatehouse/auth'
import { AuthError } from '@gatehouse/auth'
import { TRPCError } from '@trpc/server'
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/unstable-core-do-not-import'

const STATUS = {
  NOT_AUTHENTICATED: 'UNAUTHORIZED',
  AUTH_HEADER_INVALID: 'UNAUTHORIZED',
  INVALID_CREDENTIALS: 'UNAUTHORIZED',
  TOKEN_INVALID: 'UNAUTHORIZED',
  TOKEN_EXPIRED: 'UNAUTHORIZED',
  TOKEN_WRONG_TYPE: 'UNAUTHORIZED',
  TOKEN_BLACKLISTED: 'UNAUTHORIZED',
  TOKEN_REVOKED: 'UNAUTHORIZED',
  TOKEN_REFRESH_EXPIRED: 'UNAUTHORIZED',
  SESSION_INVALID: 'UNAUTHORIZED',
  CSRF_FAILED: 'FORBIDDEN',
  USER_NOT_FOUND: 'UNAUTHORIZED',
  USER_INACTIVE: 'UNAUTHORIZED',
  PASSWORD_INVALID: 'BAD_REQUEST',
  INVALID_INPUT: 'BAD_REQUEST',
  USERNAME_TAKEN: 'CONFLICT',
  NOT_PERMITTED: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  THROTTLED: 'TOO_MANY_REQUESTS',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  API_TOKEN_INVALID: 'UNAUTHORIZED',
  API_TOKEN_HEADER_EMPTY: 'UNAUTHORIZED',
  API_TOKEN_HEADER_SPACES: 'UNAUTHORIZED',
  API_TOKEN_USER_INACTIVE: 'UNAUTHORIZED',
} as const satisfies Record<AuthErrorCode, TRPC_ERROR_CODE_KEY>

/** Reasons that are not about the caller's own credential get no WWW-Authenticate challenge. */
export const CHALLENGE_FREE_REASONS: ReadonlySet<string> = new Set<AuthErrorCode>(['INVALID_CREDENTIALS'])

// Error codes node-postgres and Postgres use when the database cannot be reached or is going away.
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOENT', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08006'])

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true
  return /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    err.message,
  )
}

export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) return err
  if (err instanceof AuthError) return new TRPCError({ code: STATUS[err.code], message: err.message, cause: err })
  if (isDatabaseUnavailable(err)) {
    return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'The database is unavailable; try again later.', cause: err })
  }
  // Unknown failures keep their cause for the log and say nothing specific to the client.
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', cause: err })
}
