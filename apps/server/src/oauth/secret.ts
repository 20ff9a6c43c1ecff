/**
 * Secrets the OAuth server generates once and keeps in the database, so every process (and every
 * restart) signs cookies and CSRF tokens with the same keys; never hard-coded, never in the code.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

import type { Db } from '@gatehouse/db'

/** The stored secret called `name`, created (32 random bytes, base64url) by whichever process asks first. */
export async function persistedSecret(db: Db, name: string): Promise<string> {
  await db
    .insertInto('oauth_secrets')
    .values({ name, secret: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
  const row = await db.selectFrom('oauth_secrets').select('secret').where('name', '=', name).executeTakeFirstOrThrow()
  return row.secret
}

/** Hex SHA-256: how client secrets are stored (they are 256-bit random values, so no slow hash is needed). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}

/** Constant-time comparison of a presented secret with a stored SHA-256 hex digest. */
export function secretMatchesHash(presented: unknown, storedHash: unknown): boolean {
  if (typeof presented !== 'string' || typeof storedHash !== 'string' || storedHash.length !== 64) return false
  const actual = Buffer.from(sha256Hex(presented), 'hex')
  const expected = Buffer.from(storedHash, 'hex')
  return expected.length === actual.length && timingSafeEqual(actual, expected)
}
