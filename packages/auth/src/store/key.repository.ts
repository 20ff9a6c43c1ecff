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

export async function insertSigningKey(db: Db, key: NewSigningKey): Promise<SigningKey> {
  return db.insertInto('signing_keys').values(key).returningAll().executeTakeFirstOrThrow()
}

export async function retireSigningKey(db: Db, kid: string, at: Date): Promise<boolean> {
  const result = await db
    .updateTable('signing_keys')
    .set({ retired_at: at })
    .where('kid', '=', kid)
    .where('retired_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}
