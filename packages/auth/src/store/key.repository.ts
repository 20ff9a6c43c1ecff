import type { Db, NewSigningKey, SigningKey } from '@gatehouse/db'
import { sql } from 'kysely'

// Serialises "create the first key" between processes starting together on Postgres. (On the
// embedded database the socket server already runs one transaction at a time.)
const KEY_CREATION_LOCK = 7_316_245_002

export async function findActiveSigningKeys(db: Db, algorithm: string): Promise<SigningKey[]> {
  return db
    .selectFrom('signing_keys')
    .selectAll()
    .where('algorithm', '=', algorithm)
    .where('retired_at', 'is', null)
    .orderBy('created_at', 'desc')
    .execute()
}

/** Inserts `make()`'s key unless an active key of that algorithm exists; returns the newest. */
export async function ensureSigningKey(
  db: Db,
  algorithm: string,
  make: () => Promise<NewSigningKey>,
): Promise<SigningKey> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${KEY_CREATION_LOCK})`.execute(trx)
    const [existing] = await findActiveSigningKeys(trx, algorithm)
    if (existing) return existing
    return trx.insertInto('signing_keys').values(await make()).returningAll().executeTakeFirstOrThrow()
  })
}

/**
 * Runs `work` in a transaction holding the key lock: key creation, retirement and the encryption of
 * stored keys never interleave, between processes either.
 */
export async function withSigningKeysLocked<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${KEY_CREATION_LOCK})`.execute(trx)
    return work(trx)
  })
}

/** Every key's stored private half, retired ones too (they are secrets all the same). */
export async function findSigningKeySecrets(db: Db): Promise<{ kid: string; private_jwk: string }[]> {
  return db.selectFrom('signing_keys').select(['kid', 'private_jwk']).orderBy('created_at').execute()
}

export async function updateSigningKeySecret(db: Db, kid: string, privateJwk: string): Promise<void> {
  await db.updateTable('signing_keys').set({ private_jwk: privateJwk }).where('kid', '=', kid).execute()
}

export async function insertSigningKey(db: Db, key: NewSigningKey): Promise<SigningKey> {
  return db.insertInto('signing_keys').values(key).returningAll().executeTakeFirstOrThrow()
}

export type RetireOutcome = 'retired' | 'unknown' | 'already_retired' | 'last'

/**
 * Retires a key unless it is the last active one of `algorithm`. Under the key lock, so two
 * retirements at once cannot leave no key at all.
 */
export async function retireSigningKey(db: Db, opts: { kid: string; algorithm: string }): Promise<RetireOutcome> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${KEY_CREATION_LOCK})`.execute(trx)
    const row = await trx.selectFrom('signing_keys').select(['algorithm', 'retired_at']).where('kid', '=', opts.kid).executeTakeFirst()
    if (!row) return 'unknown'
    if (row.retired_at) return 'already_retired'
    if (row.algorithm === opts.algorithm) {
      const others = await trx
        .selectFrom('signing_keys')
        .select('kid')
        .where('algorithm', '=', opts.algorithm)
        .where('retired_at', 'is', null)
        .where('kid', '<>', opts.kid)
        .limit(1)
        .execute()
      if (others.length === 0) return 'last'
    }
    await trx.updateTable('signing_keys').set({ retired_at: sql<Date>`now()` }).where('kid', '=', opts.kid).execute()
    return 'retired'
  })
}
