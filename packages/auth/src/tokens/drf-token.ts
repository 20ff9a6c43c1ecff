/**
 * DRF's TokenAuthentication key (rest_framework.authtoken): 40 lower-case hex, one per user, the
 * same on every login (DRF's `Token.objects.get_or_create`), so two clients of one user never lock
 * each other out. What `auth.tokens.obtain`, `auth.tokens.register` and code-1's REST twin answer.
 *
 * - Derived, never stored: the first 20 bytes of HMAC-SHA256, keyed with a sub-key of the server's
 *   secret key (HKDF label `gatehouse drf-token v1`, never the key that encrypts secrets), of the
 *   user id and the user's random `drf_key_nonce`. Each login derives it again.
 * - Stored: its SHA-256 (hex) as the api_tokens row's `secret_hash`, the first 24 hex of that digest
 *   as the row's id. A presented key finds its row by that id, then the digests are compared in
 *   constant time, as for every API key (tokens/api-token.ts), cached and invalidated alike.
 * - Revoked by replacing the nonce (and deleting the row): the next login derives another key.
 *   `auth.tokens.revokeAll` and revoking the default key by id do; a password change and
 *   `auth.logoutAll` do not, as DRF's token survives both.
 */
import { createHmac, hash } from 'node:crypto'

/** The HKDF label of the HMAC key (SecretBox.derive). */
export const DRF_TOKEN_PURPOSE = 'gatehouse drf-token v1'

const DRF_KEY = /^[0-9a-f]{40}$/
const KEY_BYTES = 20
const ID_LENGTH = 24

/**
 * @example
 * const [hmacKey] = secrets.derive(DRF_TOKEN_PURPOSE)
 * deriveDrfToken(hmacKey, { userId: 7, nonce: row.drf_key_nonce }) // '3f…' (40 hex)
 */
export function deriveDrfToken(hmacKey: Buffer, opts: { userId: number; nonce: string }): string {
  return createHmac('sha256', hmacKey)
    .update(`drf-token:${opts.userId}:${opts.nonce}`)
    .digest()
    .subarray(0, KEY_BYTES)
    .toString('hex')
}

/** Whether a presented value has the form of a DRF key (no database work is needed otherwise). */
export function isDrfToken(key: string): boolean {
  return DRF_KEY.test(key)
}

/**
 * What is stored for a DRF key: the row id and the digest, never the key.
 * @example const { id, secretHash } = drfTokenRow(key)
 */
export function drfTokenRow(key: string): { id: string; secretHash: string } {
  const secretHash = hash('sha256', key, 'hex')
  return { id: secretHash.slice(0, ID_LENGTH), secretHash }
}
