/**
 * WWW-Authenticate: which scheme a 401 names. /trpc (http/server.ts) and /api (rest/errors.ts)
 * answer with the same challenge for the same failure.
 */
import type { Authenticator } from '@gatehouse/auth'
import { AuthError, challengeOf } from '@gatehouse/auth'

import { authErrorWireOf } from './wire-errors.js'

/** The JWT endpoints' own 401s (auth.refresh, auth.verify) are about a Bearer-style token. */
export const BEARER_CHALLENGE = 'Bearer realm="api"'

// Which authenticator threw each credential error, so the edge can name its scheme.
const failedBy = new WeakMap<object, Authenticator>()

/** Records that `authenticator` refused the request with `error` (context.ts, as it authenticates). */
export function noteFailedBy(error: unknown, authenticator: Authenticator): void {
  if (typeof error === 'object' && error !== null) failedBy.set(error, authenticator)
}

/** Whether a 401 caused by `cause` carries a challenge: all do but a wrong username or password. */
export function challenges(cause: unknown): boolean {
  return authErrorWireOf((cause as { code?: unknown } | null | undefined)?.code)?.challenge ?? true
}

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
  return BEARER_CHALLENGE
}
