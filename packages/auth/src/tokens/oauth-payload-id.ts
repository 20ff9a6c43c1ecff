/**
 * How the OAuth server's records are keyed in `oauth_payloads`: by the hex SHA-256 of the provider's
 * id, because for a refresh token, an authorization code, a session (the cookie's value) or an
 * interaction that id is the credential itself, and a copy of the table must not redeem anything.
 * A Grant keeps its id: it is a reference other rows hold (grant_id) and no endpoint accepts one.
 * A plain hash suffices: the ids are long random values, so there is no dictionary to try.
 */
import { hash } from 'node:crypto'

/**
 * @example
 * db.selectFrom('oauth_payloads').where('model', '=', 'AccessToken').where('id', '=', oauthPayloadId('AccessToken', jti))
 */
export function oauthPayloadId(model: string, id: string): string {
  return model === 'Grant' ? id : hash('sha256', id, 'hex')
}
