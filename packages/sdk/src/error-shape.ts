/**
 * The error a Gatehouse server sends, as data: its codes and the shape of `error.data`. Apart
 * from errors.ts because the router type needs the shape (`GatehouseRouter`'s `errorShape`) and
 * errors.ts needs the router type (`GatehouseError` is a `TRPCClientError<GatehouseRouter>`):
 * here, the shape depends on neither.
 */
import type { TRPC_ERROR_CODE_KEY, TRPC_ERROR_CODE_NUMBER } from '@trpc/server'

/**
 * The server's domain error codes (`AuthErrorCode` in `@gatehouse/auth`). Copied rather than
 * imported so the published types do not depend on the server's packages; a type test keeps the
 * two equal.
 */
export type AuthErrorCode =
  | 'NOT_AUTHENTICATED'
  | 'AUTH_HEADER_INVALID'
  | 'INVALID_CREDENTIALS'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_WRONG_TYPE'
  | 'TOKEN_BLACKLISTED'
  | 'TOKEN_REVOKED'
  | 'TOKEN_REFRESH_EXPIRED'
  | 'SESSION_INVALID'
  | 'CSRF_FAILED'
  | 'USER_NOT_FOUND'
  | 'USER_INACTIVE'
  | 'PASSWORD_INVALID'
  | 'USERNAME_TAKEN'
  | 'NOT_PERMITTED'
  | 'NOT_FOUND'
  | 'INVALID_INPUT'
  | 'THROTTLED'
  | 'UNAVAILABLE'
  | 'API_TOKEN_INVALID'
  | 'API_TOKEN_HEADER_EMPTY'
  | 'API_TOKEN_HEADER_SPACES'
  | 'API_TOKEN_USER_INACTIVE'

/** Every `data.reason` the server sends: a domain code, or one of the transport-level ones. */
export type GatehouseErrorReason =
  AuthErrorCode | 'INTERNAL' | 'UNAVAILABLE' | 'PARSE_ERROR' | 'PAYLOAD_TOO_LARGE' | 'METHOD_NOT_SUPPORTED'

/** The `data` of a Gatehouse error response. */
export interface GatehouseErrorData {
  /** tRPC's code, such as `'UNAUTHORIZED'` or `'BAD_REQUEST'`. */
  code: TRPC_ERROR_CODE_KEY
  /** The HTTP status the server answered with. */
  httpStatus: number
  /** The procedure, such as `'auth.login'`. */
  path?: string
  /** Why, as a stable code. Absent only for errors tRPC raises itself (an unknown procedure). */
  reason?: GatehouseErrorReason
  /** Per-field messages, Django-style: `{ password: ['This password is too short. …'] }`. */
  fieldErrors?: Record<string, string[]>
}

/** The error shape the server's error formatter produces. */
export interface GatehouseErrorShape {
  code: TRPC_ERROR_CODE_NUMBER
  message: string
  data: GatehouseErrorData
}
