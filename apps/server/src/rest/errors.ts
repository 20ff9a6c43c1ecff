/**
 * A procedure's failure (a TRPCError around an AuthError, a schema error or an outage) in DRF's
 * and simplejwt's words: `{"detail": …}`, `{"field": ["message"]}`, `code`/`messages` on token
 * errors, with the status and WWW-Authenticate DRF would send. The tRPC edge keeps its own
 * format; both read the same table (kit/wire-errors.ts) and the same AuthError messages.
 */
import type { Authenticator } from '@gatehouse/auth'
import { AuthError } from '@gatehouse/auth'
import { getHTTPStatusCodeFromError } from '@trpc/server/http'

import type { Operation } from './table.js'
import { HttpError } from '../kit/body.js'
import { challengeFor, challenges } from '../kit/challenge.js'
import { AUTH_ERRORS, toTRPCError } from '../kit/wire-errors.js'
import { fieldNameOf } from './input.js'

export interface Reply {
  status: number
  /** The JSON body; undefined sends none. */
  body?: unknown
  headers: Record<string, string>
}

export interface ErrorScope {
  operation: Operation | undefined
  /** The view's authenticators: the scheme a 401 names. */
  authenticators: readonly Authenticator[]
  /** The challenge for a missing credential on a view whose schemes the server does not run. */
  fallbackChallenge: string | undefined
  /** The error the request's authentication failed with, if it did. */
  authenticationError: unknown
}

const SERVER_ERROR = 'A server error occurred.'

/** Whether a route failed on a JWT (whose body then depends on who checked it). */
export function isTokenError(thrown: unknown): boolean {
  const cause = thrown instanceof AuthError ? thrown : (thrown as { cause?: unknown } | undefined)?.cause
  return cause instanceof AuthError && AUTH_ERRORS[cause.code].drf === 'token_not_valid'
}

function collect(entries: Iterable<[string, string]>): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [field, message] of entries) (out[field] ??= []).push(message)
  return out
}

/** A field error's key as the request named it; the whole input is DRF's `non_field_errors`. */
function fieldOf(operation: Operation | undefined, key: PropertyKey | undefined): string {
  if (key === undefined || key === 'input') return 'non_field_errors'
  return fieldNameOf(operation, String(key))
}

function isIssueList(value: unknown): value is readonly { path: readonly PropertyKey[]; message: string }[] {
  return (
    Array.isArray(value) && value.every((issue) => typeof issue === 'object' && issue !== null && 'message' in issue)
  )
}

/** The body of an AuthError, in the words of the DRF or simplejwt class that would have raised it. */
function authBody(error: AuthError, scope: ErrorScope): unknown {
  const { code, message } = error
  if (error.fieldErrors) {
    const entries = Object.entries(error.fieldErrors).flatMap(([key, messages]) =>
      messages.map((m): [string, string] => [fieldOf(scope.operation, key), m]),
    )
    return collect(entries)
  }
  const wire = AUTH_ERRORS[code]
  if (wire.drf === 'non_field_errors') return { non_field_errors: [message] }
  if (wire.drf === 'token_not_valid') {
    // JWTAuthentication lists what each token class said; the token views say it alone.
    if (error === scope.authenticationError) {
      return {
        detail: 'Given token not valid for any token type',
        code: 'token_not_valid',
        messages: [{ token_class: 'AccessToken', token_type: 'access', message }],
      }
    }
    return { detail: message, code: 'token_not_valid' }
  }
  return wire.drfCode ? { detail: message, code: wire.drfCode } : { detail: message }
}

function authReply(error: AuthError, scope: ErrorScope): Reply {
  const fixed = scope.operation?.errors[error.code]
  if (fixed)
    return {
      status: fixed.status,
      body: fixed.body,
      headers: fixed.challenge ? { 'www-authenticate': fixed.challenge } : {},
    }
  const status = AUTH_ERRORS[error.code].drfStatus
  const headers: Record<string, string> = {}
  if (status === 401 && challenges(error)) {
    const missing = error.code === 'NOT_AUTHENTICATED' && scope.authenticators.length === 0
    headers['www-authenticate'] = (missing && scope.fallbackChallenge) || challengeFor(error, scope.authenticators)
  }
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds)
  return { status, body: authBody(error, scope), headers }
}

/**
 * The answer for anything a route threw. `internal` is set for failures that are bugs, for the
 * server's error log; the client then sees only DRF's `A server error occurred.`
 */
export function errorReply(thrown: unknown, scope: ErrorScope): { reply: Reply; internal?: unknown } {
  if (thrown instanceof HttpError)
    return { reply: { status: thrown.status, body: thrown.body, headers: { ...thrown.headers } } }
  const error = thrown instanceof AuthError ? thrown : toTRPCError(thrown)
  if (error instanceof AuthError) return { reply: authReply(error, scope) }
  const cause = error.cause
  if (cause instanceof AuthError) return { reply: authReply(cause, scope) }
  const issues = (cause as { issues?: unknown } | undefined)?.issues
  if (error.code === 'BAD_REQUEST' && isIssueList(issues)) {
    const fixed = scope.operation?.errors.INVALID_INPUT
    if (fixed) return { reply: { status: fixed.status, body: fixed.body, headers: {} } }
    const body = collect(
      issues.map((issue): [string, string] => [fieldOf(scope.operation, issue.path[0]), issue.message]),
    )
    return { reply: { status: 400, body, headers: {} } }
  }
  const status = getHTTPStatusCodeFromError(error)
  if (status >= 500 && error.code !== 'SERVICE_UNAVAILABLE') {
    return { reply: { status: 500, body: { detail: SERVER_ERROR }, headers: {} }, internal: cause ?? error }
  }
  return { reply: { status, body: { detail: error.message }, headers: {} } }
}
