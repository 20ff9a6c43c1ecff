/**
 * The `sessionid` cookie's value: `<id>.<secret>`, made and checked like an API key
 * (tokens/api-token.ts): 16 random bytes of id (the row's primary key, fits `varchar(32)`, safe to
 * list and log) and 32 bytes of secret, hex. Only the secret's SHA-256 is stored; the check is
 * constant-time.
 */
import { hashApiTokenSecret, verifyApiTokenSecret } from '../tokens/api-token.js'

const ID_BYTES = 16
const SECRET_BYTES = 32
const KEY_PATTERN = new RegExp(`^([0-9a-f]{${ID_BYTES * 2}})\\.([0-9a-f]{${SECRET_BYTES * 2}})$`)

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
}

/**
 * A new session key and what to store for it; the key goes into the cookie only.
 * @example const { id, key, secretHash } = generateSessionKey()
 */
export function generateSessionKey(): { id: string; key: string; secretHash: string } {
  const id = randomHex(ID_BYTES)
  const secret = randomHex(SECRET_BYTES)
  return { id, key: `${id}.${secret}`, secretHash: hashApiTokenSecret(secret) }
}

/** Splits a presented key; null when it cannot be one of ours (no database work then). */
export function parseSessionKey(key: string): { id: string; secret: string } | null {
  const match = KEY_PATTERN.exec(key)
  return match?.[1] && match[2] ? { id: match[1], secret: match[2] } : null
}

/** Whether `secret` hashes to `storedHash`, in constant time. */
export const verifySessionSecret: (secret: string, storedHash: string) => boolean = verifyApiTokenSecret
