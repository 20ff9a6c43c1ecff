import type { AuthService, AuthUser } from '@gatehouse/auth'
import { AuthError } from '@gatehouse/auth'

import type { Config } from './config.js'

export interface ContextDeps {
  auth: AuthService
  config: Config
}

/** What a request carries that can identify its caller. */
export interface Credentials {
  authorization?: string | undefined
}

export const NO_CREDENTIALS: Credentials = {}

// RFC 7235: the scheme is case-insensitive.
const BEARER = /^bearer$/i

/**
 * Bearer authentication, simplejwt-style: no header, or a scheme we do not handle, is anonymous;
 * a Bearer header that is malformed or carries a bad token is a 401, never anonymous.
 */
async function authenticate(auth: AuthService, credentials: Credentials): Promise<AuthUser | null> {
  const header = credentials.authorization?.trim()
  if (!header) return null
  const parts = header.split(/\s+/)
  if (!BEARER.test(parts[0] ?? '')) return null
  if (parts.length !== 2 || !parts[1]) throw new AuthError('AUTH_HEADER_INVALID')
  return auth.authenticateAccessToken(parts[1])
}

/**
 * The context without HTTP, for tests and the CLI (tRPC's createContextInner). Authentication is
 * lazy and memoised: a public procedure never pays for it, a protected one pays once.
 */
export function createContextInner(deps: ContextDeps, credentials: Credentials = NO_CREDENTIALS) {
  let cached: Promise<AuthUser | null> | undefined
  return {
    auth: deps.auth,
    config: deps.config,
    authenticate: () => (cached ??= authenticate(deps.auth, credentials)),
  }
}

export type Context = ReturnType<typeof createContextInner>
