/**
 * Opaque API tokens, lucia-style, with DRF authtoken's wire form and knox's improvements.
 *
 * - Format: `<id>.<secret>`, both hex from `crypto.getRandomValues`: 12 bytes of id (the row's
 *   primary key, safe to show and log) and 32 bytes of secret (256 bits, never stored).
 * - Stored: the SHA-256 of the secret, hex. A plain hash is enough because the secret is random
 *   and long (no dictionary to try); a slow hash would cost every request for nothing.
 * - Checked: the id finds the row, then the hashes are compared with `timingSafeEqual`, so the
 *   time taken says nothing about how much of a guessed secret was right. Never `===`.
 * - The key is shown once, when it is created; afterwards only its id, name and dates are.
 * - DRF's own form, 40 hex (the user's default key, tokens/drf-token.ts), is checked the same way:
 *   its id is derived from its digest, and its whole value plays the secret.
 */
import { hash, timingSafeEqual } from 'node:crypto'

import { drfTokenRow, isDrfToken } from './drf-token.js'

const ID_BYTES = 12
const SECRET_BYTES = 32
const KEY_PATTERN = new RegExp(`^([0-9a-f]{${ID_BYTES * 2}})\\.([0-9a-f]{${SECRET_BYTES * 2}})$`)

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
}

/**
 * SHA-256 of a secret, hex: what the `api_tokens.secret_hash` column holds.
 * @example hashApiTokenSecret(parseApiToken(key)?.secret ?? '') // 64 hex characters
 */
export function hashApiTokenSecret(secret: string): string {
  return hash('sha256', secret, 'hex')
}

/**
 * A new key and what to store for it. The key itself must not be kept anywhere.
 * @example
 * const { id, key, secretHash } = generateApiToken() // show `key` once; store `id` and `secretHash`
 */
export function generateApiToken(): { id: string; key: string; secretHash: string } {
  const id = randomHex(ID_BYTES)
  const secret = randomHex(SECRET_BYTES)
  return { id, key: `${id}.${secret}`, secretHash: hashApiTokenSecret(secret) }
}

/**
 * Splits a presented key into the row id to look up and the secret whose digest that row holds;
 * null when it cannot be one of ours (no database work is needed then). A DRF key (40 hex) is its
 * own secret, under the id its digest gives.
 * @example parseApiToken('nope') // null
 */
export function parseApiToken(key: string): { id: string; secret: string } | null {
  const match = KEY_PATTERN.exec(key)
  if (match?.[1] && match[2]) return { id: match[1], secret: match[2] }
  return isDrfToken(key) ? { id: drfTokenRow(key).id, secret: key } : null
}

/**
 * Whether `secret` hashes to `storedHash`, compared in constant time.
 * @example verifyApiTokenSecret(parsed.secret, row.secret_hash)
 */
export function verifyApiTokenSecret(secret: string, storedHash: string): boolean {
  // The digest as bytes at once (one-shot hash, no Hash object or hex round trip): this runs on
  // every API-key and session request, cached or not.
  const presented = hash('sha256', secret, 'buffer')
  const stored = Buffer.from(storedHash, 'hex')
  // Both are SHA-256 digests, so the lengths match unless the row is corrupt.
  return presented.length === stored.length && timingSafeEqual(presented, stored)
}
