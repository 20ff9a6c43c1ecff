/**
 * The one place where domain errors become wire errors (STYLE.md 3.6): per AuthErrorCode, the
 * tRPC code (and so /trpc's HTTP status), /api's status and DRF body, and whether a 401 names a
 * challenge. tRPC's errorFormatter (trpc.ts), the server's own refusals (http/server.ts), the REST
 * facade (rest/errors.ts) and the OAuth pages (oauth/interactions.ts) all look here.
 */
import type { AuthErrorCode } from '@gatehouse/auth'
import { AuthError } from '@gatehouse/auth'
import { TRPCError } from '@trpc/server'
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/unstable-core-do-not-import'
import { getStatusCodeFromKey } from '@trpc/server/unstable-core-do-not-import'

/** Every `data.reason` on the wire: a domain code, or one of the transport-level ones. */
export type WireReason =
  AuthErrorCode | 'INTERNAL' | 'UNAVAILABLE' | 'PARSE_ERROR' | 'PAYLOAD_TOO_LARGE' | 'METHOD_NOT_SUPPORTED'

/**
 * How /api words an AuthError without field errors, as the DRF or simplejwt class that would
 * raise it: `{"detail": …}` (with simplejwt's `code` when `drfCode` is set), `{"non_field_errors":
 * […]}`, or simplejwt's `token_not_valid` bodies (which depend on who checked the token).
 */
export type DrfBody = 'detail' | 'non_field_errors' | 'token_not_valid'

interface Row {
  trpc: TRPC_ERROR_CODE_KEY
  drf: DrfBody
  /** simplejwt's `code` beside the detail, for JWTAuthentication's other failures. */
  drfCode?: string
  /** /api's status where DRF's differs from tRPC's: DRF has no 409. */
  drfStatus?: number
  /** A 401 not about the caller's own credential (a wrong password) names no challenge. */
  challenge?: false
}

const ROWS = {
  NOT_AUTHENTICATED: { trpc: 'UNAUTHORIZED', drf: 'detail' },
  AUTH_HEADER_INVALID: { trpc: 'UNAUTHORIZED', drf: 'detail', drfCode: 'bad_authorization_header' },
  INVALID_CREDENTIALS: { trpc: 'UNAUTHORIZED', drf: 'detail', challenge: false },
  TOKEN_INVALID: { trpc: 'UNAUTHORIZED', drf: 'token_not_valid' },
  TOKEN_EXPIRED: { trpc: 'UNAUTHORIZED', drf: 'token_not_valid' },
  TOKEN_WRONG_TYPE: { trpc: 'UNAUTHORIZED', drf: 'token_not_valid' },
  TOKEN_BLACKLISTED: { trpc: 'UNAUTHORIZED', drf: 'token_not_valid' },
  TOKEN_REVOKED: { trpc: 'UNAUTHORIZED', drf: 'token_not_valid' },
  TOKEN_REFRESH_EXPIRED: { trpc: 'UNAUTHORIZED', drf: 'token_not_valid' },
  SESSION_INVALID: { trpc: 'UNAUTHORIZED', drf: 'detail' },
  CSRF_FAILED: { trpc: 'FORBIDDEN', drf: 'detail' },
  USER_NOT_FOUND: { trpc: 'UNAUTHORIZED', drf: 'detail', drfCode: 'user_not_found' },
  USER_INACTIVE: { trpc: 'UNAUTHORIZED', drf: 'detail', drfCode: 'user_inactive' },
  PASSWORD_INVALID: { trpc: 'BAD_REQUEST', drf: 'non_field_errors' },
  INVALID_INPUT: { trpc: 'BAD_REQUEST', drf: 'non_field_errors' },
  // DRF has no 409: a taken username is a field error like any other.
  USERNAME_TAKEN: { trpc: 'CONFLICT', drf: 'detail', drfStatus: 400 },
  NOT_PERMITTED: { trpc: 'FORBIDDEN', drf: 'detail' },
  NOT_FOUND: { trpc: 'NOT_FOUND', drf: 'detail' },
  THROTTLED: { trpc: 'TOO_MANY_REQUESTS', drf: 'detail' },
  UNAVAILABLE: { trpc: 'SERVICE_UNAVAILABLE', drf: 'detail' },
  API_TOKEN_INVALID: { trpc: 'UNAUTHORIZED', drf: 'detail' },
  API_TOKEN_HEADER_EMPTY: { trpc: 'UNAUTHORIZED', drf: 'detail' },
  API_TOKEN_HEADER_SPACES: { trpc: 'UNAUTHORIZED', drf: 'detail' },
  API_TOKEN_USER_INACTIVE: { trpc: 'UNAUTHORIZED', drf: 'detail' },
} as const satisfies Record<AuthErrorCode, Row>

/** One AuthErrorCode on the wire. */
export interface AuthErrorWire {
  trpc: TRPC_ERROR_CODE_KEY
  /** /trpc's HTTP status: tRPC's own for `trpc`, so the two can never disagree. */
  status: number
  /** /api's HTTP status. */
  drfStatus: number
  drf: DrfBody
  drfCode: string | undefined
  /** Whether a 401 with this code carries WWW-Authenticate. */
  challenge: boolean
}

function wire(row: Row): AuthErrorWire {
  const status = getStatusCodeFromKey(row.trpc)
  return {
    trpc: row.trpc,
    status,
    drfStatus: row.drfStatus ?? status,
    drf: row.drf,
    drfCode: row.drfCode,
    challenge: row.challenge ?? true,
  }
}

/** The table: every AuthErrorCode, on /trpc and on /api. */
export const AUTH_ERRORS = Object.fromEntries(Object.entries(ROWS).map(([code, row]) => [code, wire(row)])) as Readonly<
  Record<AuthErrorCode, AuthErrorWire>
>

/** The row for a code read off an unknown value (an error's `code`), when it is an AuthErrorCode. */
export function authErrorWireOf(code: unknown): AuthErrorWire | undefined {
  return typeof code === 'string' && Object.hasOwn(AUTH_ERRORS, code) ? AUTH_ERRORS[code as AuthErrorCode] : undefined
}

const INTERNAL_MESSAGE = 'Internal server error'

/**
 * `data.reason` (and, for a bug, the message that replaces its own) of the errors tRPC and the
 * edge raise themselves, by tRPC code. Any code not here is INTERNAL; none other is expected.
 */
const TRANSPORT: Partial<Record<TRPC_ERROR_CODE_KEY, { reason: WireReason; message?: string }>> = {
  INTERNAL_SERVER_ERROR: { reason: 'INTERNAL', message: INTERNAL_MESSAGE },
  SERVICE_UNAVAILABLE: { reason: 'UNAVAILABLE' },
  PARSE_ERROR: { reason: 'PARSE_ERROR' },
  BAD_REQUEST: { reason: 'INVALID_INPUT' },
  NOT_FOUND: { reason: 'NOT_FOUND' },
  METHOD_NOT_SUPPORTED: { reason: 'METHOD_NOT_SUPPORTED' },
  PAYLOAD_TOO_LARGE: { reason: 'PAYLOAD_TOO_LARGE' },
}

/** A transport-level error's reason, and the message to send instead of its own (for a bug). */
export function transportReason(code: TRPC_ERROR_CODE_KEY): { reason: WireReason; message?: string } {
  return TRANSPORT[code] ?? { reason: 'INTERNAL' }
}

/**
 * The tRPC error body the server writes itself, outside any procedure (an oversized body, a
 * crash): the shape the errorFormatter gives a procedure's errors, with the JSON-RPC code -32600
 * these answers have always carried. An INTERNAL_SERVER_ERROR says only "Internal server error";
 * without a message, the body says the code, as a TRPCError does.
 */
export function trpcErrorBody(code: TRPC_ERROR_CODE_KEY, message?: string) {
  const { reason, message: fixed } = transportReason(code)
  const data = { code, httpStatus: getStatusCodeFromKey(code), reason }
  return { error: { message: fixed ?? message ?? code, code: -32_600, data } }
}

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
  if (err instanceof AuthError)
    return new TRPCError({ code: AUTH_ERRORS[err.code].trpc, message: err.message, cause: err })
  if (isDatabaseUnavailable(err)) {
    return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'The database is unavailable; try again later.', cause: err })
  }
  // Unknown failures keep their cause for the log and say nothing specific to the client.
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: INTERNAL_MESSAGE, cause: err })
}
