/**
 * Who an OAuth access token acts as, and whether it still may. The authorization server keeps a
 * row for every access token it issues (oauth_payloads, model AccessToken or ClientCredentials,
 * id = SHA-256 of the jti: oauth-payload-id.ts), and deletes it when the token is revoked (RFC 7009, a reused code or refresh token, a
 * deleted client, an app its user revoked). A JWT verifies offline, so this one indexed read is
 * what makes revocation reach the resource side; it also says, from the server's own record, whose
 * token it is.
 */
import type { Db } from '@gatehouse/db'

import type { VerifiedOAuthToken } from '../authenticators/oauth.js'
import type { Clock } from '../clock.js'
import type { AuthUser } from '../users/user.js'
import { AuthError } from '../errors.js'
import { findIssuedAccessToken, findServiceUserId } from '../store/oauth.repository.js'
import { findUserWithGroups } from '../store/user.repository.js'
import { toAuthUser } from '../users/user.js'
import { oauthPayloadId } from './oauth-payload-id.js'

async function activeUser(db: Db, id: number): Promise<AuthUser> {
  const row = await findUserWithGroups(db, id)
  if (!row) throw new AuthError('USER_NOT_FOUND')
  if (!row.is_active) throw new AuthError('USER_INACTIVE')
  return toAuthUser(row, row.groups)
}

/**
 * The `loadPrincipal` of the `oauth` authenticator, on our database.
 *
 * @example
 * oauthAuthenticator({ keys, clock, settings, loadPrincipal: oauthPrincipalLoader(db, clock) })
 */
export function oauthPrincipalLoader(db: Db, clock: Clock) {
  return async function loadPrincipal(token: VerifiedOAuthToken): Promise<AuthUser> {
    const issued = await findIssuedAccessToken(db, oauthPayloadId('AccessToken', token.jti), clock())
    if (!issued) throw new AuthError('TOKEN_REVOKED')
    const record = issued.payload
    // The record and the signed claims come from the same issuance; a mismatch is not ours.
    if (record['clientId'] !== token.clientId) throw new AuthError('TOKEN_INVALID')
    if (issued.model === 'ClientCredentials') {
      if (token.subject !== token.clientId) throw new AuthError('TOKEN_INVALID')
      const serviceUserId = await findServiceUserId(db, token.clientId)
      // A deleted client's tokens die with it; a client without a service user has no one to act as.
      if (serviceUserId === undefined || serviceUserId === null) throw new AuthError('TOKEN_REVOKED')
      return activeUser(db, serviceUserId)
    }
    if (record['accountId'] !== token.subject) throw new AuthError('TOKEN_INVALID')
    const userId = Number(token.subject)
    if (!Number.isSafeInteger(userId) || userId <= 0) throw new AuthError('TOKEN_INVALID')
    return activeUser(db, userId)
  }
}
