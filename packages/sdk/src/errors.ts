/**
 * Errors as the client sees them (STYLE.md 3.6, layer 3): a `TRPCClientError` whose `data`
 * carries the server's stable `reason` code, so front ends switch on codes, never on messages.
 */
import type { AuthErrorCode, GatehouseErrorData, GatehouseErrorShape } from './error-shape.js'
import type { GatehouseRouter } from './router.js'
import { TRPCClientError } from '@trpc/client'

/** A client error that came from a Gatehouse server's response, so `data` is always there. */
export type GatehouseError = TRPCClientError<GatehouseRouter> & {
  readonly shape: GatehouseErrorShape
  readonly data: GatehouseErrorData
}

/**
 * Whether `error` is an error response from the server. A network failure or a response that is
 * not tRPC's is still a `TRPCClientError`, but has no `data` and is not a `GatehouseError`.
 *
 * @example
 * ```ts
 * try {
 *   await client.auth.login({ username, password })
 * } catch (error) {
 *   if (isGatehouseError(error) && error.data.reason === 'INVALID_CREDENTIALS') showWrongPassword()
 *   else throw error
 * }
 * ```
 */
export function isGatehouseError(error: unknown): error is GatehouseError {
  // By name too: an app bundling a second copy of @trpc/client has a second TRPCClientError class.
  const isClientError = error instanceof TRPCClientError || (error instanceof Error && error.name === 'TRPCClientError')
  if (!isClientError) return false
  const data: unknown = (error as { data?: unknown }).data
  if (typeof data !== 'object' || data === null) return false
  const { code, httpStatus } = data as Record<string, unknown>
  return typeof code === 'string' && typeof httpStatus === 'number'
}

/**
 * Whether the call failed only because its access token is stale, the cases worth a refresh:
 * expired, or revoked by a token epoch bump (after a role change the refresh token still works
 * and the new access token carries the new epoch; after a password change it does not).
 */
export function isAccessTokenStale(error: unknown): boolean {
  return (
    isGatehouseError(error) &&
    error.data.code === 'UNAUTHORIZED' &&
    (error.data.reason === 'TOKEN_EXPIRED' || error.data.reason === 'TOKEN_REVOKED')
  )
}

/**
 * Whether the server answered 401: not logged in, or a login it no longer accepts. For the
 * client's own bookkeeping (a logout already done, a subject to forget), not for front ends,
 * which switch on `reason`.
 */
export function isUnauthorized(error: unknown): boolean {
  return isGatehouseError(error) && error.data.code === 'UNAUTHORIZED'
}

/**
 * Why a caller was turned away: not logged in (401), not allowed (403), or too many requests
 * (429, try again later).
 */
export type DenialReason = Extract<AuthErrorCode, 'NOT_AUTHENTICATED' | 'NOT_PERMITTED' | 'THROTTLED'>

/** A `GatehouseError` whose `reason` is a `DenialReason`. */
export type DeniedError = GatehouseError & { readonly data: GatehouseErrorData & { reason: DenialReason } }

const DENIAL_REASONS: ReadonlySet<string> = new Set<DenialReason>(['NOT_AUTHENTICATED', 'NOT_PERMITTED', 'THROTTLED'])

/**
 * Whether the server refused the caller (rather than the input, or failing itself). A read of one
 * object the caller may not see is not a denial: the server answers `NOT_FOUND`, as for an object
 * that does not exist, so that the answer does not confirm it exists.
 *
 * @example
 * ```ts
 * try {
 *   await client.articles.update({ id, title })
 * } catch (error) {
 *   if (!isDenied(error)) throw error
 *   switch (error.data.reason) {
 *     case 'NOT_AUTHENTICATED':
 *       return askToLogIn()
 *     case 'NOT_PERMITTED':
 *       return showForbidden()
 *     case 'THROTTLED':
 *       return showTryLater(error.message)
 *   }
 * }
 * ```
 */
export function isDenied(error: unknown): error is DeniedError {
  return isGatehouseError(error) && error.data.reason !== undefined && DENIAL_REASONS.has(error.data.reason)
}
