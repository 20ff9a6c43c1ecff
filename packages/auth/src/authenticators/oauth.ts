/**
 * `Authorization: Bearer <at+jwt>`, django-oauth-toolkit's OAuth2Authentication: an access token
 * our authorization server (/oauth) issued for this API. RFC 9068 access tokens are JWTs whose
 * protected header says `typ: at+jwt`; that header is the only thing telling them from our own
 * access tokens (`typ: JWT`), so the `bearer` authenticator answers null for them and this one
 * answers null for everything else. Neither can pass for the other: each pins its `typ`, and
 * signatures cover the header.
 *
 * Verified like our own tokens (the KeyRing's keys, the algorithm pinned), plus `iss` (the OAuth
 * issuer) and `aud` (the resource indicator our API answers to). The caller is the token's user,
 * or for a client-credentials token the client's service user; the token's client and scopes ride
 * along on the user as `oauth`, for the scope permissions (permissions/scope.ts).
 */
import type { JWTPayload } from 'jose'
import { decodeProtectedHeader, errors, jwtVerify } from 'jose'

import type { Clock } from '../clock.js'
import type { KeyRing } from '../jwt/keys.js'
import type { AuthUser, OAuthTokenInfo } from '../users/user.js'
import type { Authenticator, AuthRequest } from './authenticator.js'
import { AuthError } from '../errors.js'
import { KeyNotFoundError } from '../jwt/keys.js'
import { splitAuthorization } from './authorization-header.js'

export const OAUTH_TOKEN_TYPE = 'at+jwt'

// An at+jwt carries more claims than our own tokens; still far below anything legitimate.
const MAX_TOKEN_LENGTH = 8192

/** What the resource side needs to know about the authorization server, read per request. */
export interface OAuthResourceSettings {
  /** The `iss` of its tokens. */
  issuer: string
  /** The resource indicator this API answers to: the `aud` its tokens must carry. */
  resource: string
}

/** A verified access token, before its principal is loaded. */
export interface VerifiedOAuthToken {
  /** `sub`: String(user id) for a user's token; the client_id for a client-credentials one. */
  subject: string
  clientId: string
  scopes: readonly string[]
  jti: string
  expiresAt: Date
}

export interface OAuthAuthenticatorOptions {
  keys: KeyRing
  clock: Clock
  /**
   * Issuer and resource. A function because the default issuer (`<bound URL>/oauth`) is only
   * known once the server listens.
   */
  settings: () => OAuthResourceSettings
  /**
   * The principal the token acts as, once the token is known to be live (not revoked): for a user
   * token the (active) user; for a client-credentials token the client's service user. Throws
   * AuthError (TOKEN_REVOKED, USER_INACTIVE, USER_NOT_FOUND) when there is none.
   */
  loadPrincipal: (token: VerifiedOAuthToken) => Promise<AuthUser>
}

// Every token a key signs has the same header segment, so a handful of them cover all traffic:
// remembering their `typ` saves a base64 decode and a JSON parse on every Bearer request (twice:
// once for hasCredential, once to authenticate). Bounded, so forged headers cannot grow it.
const HEADER_TYPES = new Map<string, string | undefined>()
const MAX_HEADER_TYPES = 64

/** The `typ` of a JWT's protected header, lower case without `application/`; undefined if unreadable. */
export function jwtTypeOf(token: string): string | undefined {
  const dot = token.indexOf('.')
  const segment = dot < 0 ? token : token.slice(0, dot)
  if (HEADER_TYPES.has(segment)) return HEADER_TYPES.get(segment)
  let type: string | undefined
  try {
    const typ = decodeProtectedHeader(token).typ
    type = typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined
  } catch {
    return undefined // unreadable: not remembered (it may be any string)
  }
  if (HEADER_TYPES.size >= MAX_HEADER_TYPES) HEADER_TYPES.clear()
  HEADER_TYPES.set(segment, type)
  return type
}

/** The Bearer credential of the request, when the header is `Bearer <one value>`. */
function bearerToken(request: AuthRequest): string | undefined {
  const header = splitAuthorization(request.authorization)
  if (header?.scheme !== 'bearer' || header.parts.length !== 1) return undefined
  return header.parts[0]
}

/** Whether the request's Bearer credential is an RFC 9068 access token (the `oauth` scheme's). */
export function isOAuthAccessToken(request: AuthRequest): boolean {
  const token = bearerToken(request)
  return token !== undefined && jwtTypeOf(token) === OAUTH_TOKEN_TYPE
}

/**
 * Verifies an at+jwt for this resource. Throws AuthError TOKEN_INVALID | TOKEN_EXPIRED.
 *
 * @example
 * const verified = await verifyOAuthToken(token, { keys, clock, settings: { issuer, resource } })
 */
export async function verifyOAuthToken(
  token: string,
  opts: { keys: KeyRing; clock: Clock; settings: OAuthResourceSettings },
): Promise<VerifiedOAuthToken> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new AuthError('TOKEN_INVALID')
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, opts.keys.resolve, {
      algorithms: [opts.keys.algorithm], // pinned, as for our own tokens
      issuer: opts.settings.issuer,
      audience: opts.settings.resource,
      currentDate: opts.clock(),
      requiredClaims: ['sub', 'jti', 'exp', 'iat', 'client_id'],
      typ: OAUTH_TOKEN_TYPE,
    }))
  } catch (cause) {
    if (cause instanceof errors.JWTExpired) throw new AuthError('TOKEN_EXPIRED', { cause })
    if (cause instanceof errors.JOSEError || cause instanceof KeyNotFoundError) {
      throw new AuthError('TOKEN_INVALID', { cause })
    }
    throw cause // a TypeError here is our bug, not a bad token
  }
  const { sub, jti, client_id: clientId, scope } = payload
  if (typeof sub !== 'string' || !sub || typeof jti !== 'string' || typeof clientId !== 'string' || !clientId) {
    throw new AuthError('TOKEN_INVALID')
  }
  if (scope !== undefined && typeof scope !== 'string') throw new AuthError('TOKEN_INVALID')
  return {
    subject: sub,
    clientId,
    scopes: Object.freeze([...new Set((scope ?? '').split(' ').filter(Boolean))]),
    jti,
    expiresAt: new Date((payload.exp ?? 0) * 1000),
  }
}

/**
 * @example
 * ```ts
 * const oauth = oauthAuthenticator({ keys: auth.keys, clock: auth.clock, settings: () => oauthSettings, loadPrincipal })
 * ```
 */
export function oauthAuthenticator(opts: OAuthAuthenticatorOptions): Authenticator {
  return {
    scheme: 'oauth',
    challenge: 'Bearer realm="api"',
    hasCredential: isOAuthAccessToken,
    async authenticate(request) {
      if (!isOAuthAccessToken(request)) return null
      const token = bearerToken(request) ?? ''
      const verified = await verifyOAuthToken(token, { keys: opts.keys, clock: opts.clock, settings: opts.settings() })
      const principal = await opts.loadPrincipal(verified)
      const oauth: OAuthTokenInfo = {
        clientId: verified.clientId,
        scopes: verified.scopes,
        jti: verified.jti,
      }
      // A fresh object: the principal may be shared, the token is this request's alone.
      return { ...principal, oauth }
    },
  }
}
