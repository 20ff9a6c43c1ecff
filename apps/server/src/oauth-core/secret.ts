/**
 * Secrets the OAuth server generates once and keeps in the database, so every process (and every
 * restart) signs cookies and CSRF tokens with the same keys; never hard-coded, never in the code,
 * and stored encrypted under the server's secret key, bound to their name (@gatehouse/auth's
 * SecretBox): a copy of the table forges no cookie.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

import type { SealCounts } from '@gatehouse/auth'
import { SecretBox } from '@gatehouse/auth'
import type { Db } from '@gatehouse/db'

function contextOf(name: string): string {
  return `oauth_secrets:${name}`
}

/**
 * The stored secret called `name`, created (32 random bytes, base64url) by whichever process asks
 * first. Run `sealOAuthSecrets` first: a secret still in clear is refused here.
 */
export async function persistedSecret(db: Db, box: SecretBox, name: string): Promise<string> {
  const context = contextOf(name)
  await db
    .insertInto('oauth_secrets')
    .values({ name, secret: box.seal(randomBytes(32).toString('base64url'), context) })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
  const row = await db.selectFrom('oauth_secrets').select('secret').where('name', '=', name).executeTakeFirstOrThrow()
  return box.open(row.secret, context, `OAuth secret "${name}"`).plaintext
}

/**
 * Encrypts the OAuth secrets still in clear (stored before encryption at rest) and, with
 * `reencrypt`, those under a fallback secret key; every one must open. Each write is conditional on
 * the value read, so processes starting together change each row once.
 */
export async function sealOAuthSecrets(
  db: Db,
  box: SecretBox,
  opts: { reencrypt?: boolean } = {},
): Promise<SealCounts> {
  const counts: SealCounts = { encrypted: 0, reencrypted: 0, unchanged: 0 }
  const rows = await db.selectFrom('oauth_secrets').select(['name', 'secret']).orderBy('name').execute()
  for (const row of rows) {
    const context = contextOf(row.name)
    let plaintext = row.secret
    let kind: keyof SealCounts = 'encrypted'
    if (SecretBox.isSealed(row.secret)) {
      const opened = box.open(row.secret, context, `OAuth secret "${row.name}"`)
      plaintext = opened.plaintext
      kind = opened.stale && opts.reencrypt ? 'reencrypted' : 'unchanged'
    }
    if (kind !== 'unchanged') {
      const result = await db
        .updateTable('oauth_secrets')
        .set({ secret: box.seal(plaintext, context) })
        .where('name', '=', row.name)
        .where('secret', '=', row.secret)
        .executeTakeFirst()
      if (result.numUpdatedRows === 0n) kind = 'unchanged' // another process got there first
    }
    counts[kind]++
  }
  return counts
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
