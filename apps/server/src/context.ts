import type { AccessLookup, AuthService, AuthUser } from '@gatehouse/auth'
import { AuthError, createAccessLookup } from '@gatehouse/auth'

import type { Config } from './config.js'

export interface ContextDeps {
  auth: AuthService
  config: Config
}

/** What a request carries that can identify its caller. */
export interface Credentials {
  authorization?: string | undefined
  /** The client's address (the socket's remote address); throttles count anonymous callers by it. */
  address?: string | undefined
}

export const NO_CREDENTIALS: Credentials = {}

/**
 * Where a request came from, for throttling. Optional, because in-process callers (createCaller,
 * the CLI) have no address and are not throttled as anonymous.
 */
export interface RequestOrigin {
  address?: string | undefined
  /** Whether the request carries a credential: only then may throttling pay for authentication. */
  hasCredentials?: boolean
}

function originOf(credentials: Credentials): RequestOrigin {
  return { address: credentials.address, hasCredentials: Boolean(credentials.authorization?.trim()) }
}

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
  let access: Promise<AccessLookup> | undefined
  const authenticateOnce = () => (cached ??= authenticate(deps.auth, credentials))
  return {
    auth: deps.auth,
    config: deps.config,
    ...originOf(credentials),
    authenticate: authenticateOnce,
    /** The caller's grants, looked up on first use and kept for this request. */
    access: () => (access ??= authenticateOnce().then((user) => createAccessLookup(deps.auth.db, user))),
  }
}

export type Context = ReturnType<typeof createContextInner>
