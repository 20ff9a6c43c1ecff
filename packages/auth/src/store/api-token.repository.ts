import type { ApiToken, Db, NewApiToken } from '@gatehouse/db'
import { sql } from 'kysely'

export async function insertApiToken(db: Db, token: NewApiToken): Promise<ApiToken> {
  return db.insertInto('api_tokens').values(token).returningAll().executeTakeFirstOrThrow()
}

/**
 * Replaces the user's default token with this one in one statement: of concurrent calls each
 * leaves exactly one default row, and the key it replaced stops working at once.
 */
export async function upsertDefaultApiToken(db: Db, token: NewApiToken & { user_id: number }): Promise<ApiToken> {
  return db
    .insertInto('api_tokens')
    .values({ ...token, is_default: true })
    .onConflict((oc) =>
      oc
        .column('user_id')
        .where('is_default', '=', true)
        .doUpdateSet((eb) => ({
          id: eb.ref('excluded.id'),
          name: eb.ref('excluded.name'),
          secret_hash: eb.ref('excluded.secret_hash'),
          created_at: eb.ref('excluded.created_at'),
          expires_at: eb.ref('excluded.expires_at'),
          last_used_at: null,
        })),
    )
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findDefaultApiToken(db: Db, userId: number): Promise<ApiToken | undefined> {
  return db
    .selectFrom('api_tokens')
    .selectAll()
    .where('user_id', '=', userId)
    .where('is_default', '=', true)
    .executeTakeFirst()
}

/**
 * The nonce the user's DRF key is derived from, read under a lock on the user's row: `share` for a
 * login (a revocation, which replaces the nonce, waits for it, and it for a revocation in flight, so
 * a key is never stored for a nonce just replaced); `update` for a revocation, taken before it
 * touches api_tokens, so both lock in the same order. Undefined: no such user.
 */
export async function lockDrfKeyNonce(
  trx: Db,
  userId: number,
  mode: 'share' | 'update' = 'share',
): Promise<string | undefined> {
  const query = trx.selectFrom('users').select('drf_key_nonce').where('id', '=', userId)
  const row = await (mode === 'share' ? query.forShare() : query.forUpdate()).executeTakeFirst()
  return row?.drf_key_nonce
}

/** A new random nonce: the user's DRF key changes, so the revoked one is never derived again. */
export async function renewDrfKeyNonce(trx: Db, userId: number): Promise<void> {
  await trx
    .updateTable('users')
    .set({ drf_key_nonce: sql<string>`gen_random_uuid()` })
    .where('id', '=', userId)
    .execute()
}

export async function findApiToken(db: Db, id: string): Promise<ApiToken | undefined> {
  return db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findUserApiTokens(db: Db, userId: number): Promise<ApiToken[]> {
  return db
    .selectFrom('api_tokens')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
}

/** Deletes one of the user's tokens; undefined when it is not theirs or does not exist. */
export async function deleteApiToken(db: Db, userId: number, id: string): Promise<{ is_default: boolean } | undefined> {
  return db
    .deleteFrom('api_tokens')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returning('is_default')
    .executeTakeFirst()
}

export async function deleteUserApiTokens(db: Db, userId: number): Promise<number> {
  const result = await db.deleteFrom('api_tokens').where('user_id', '=', userId).executeTakeFirst()
  return Number(result.numDeletedRows)
}

/**
 * Records a use unless one was recorded since `staleBefore`. The condition is in the statement,
 * so several processes seeing the same stale value still write once between them.
 */
export async function touchApiToken(db: Db, id: string, opts: { now: Date; staleBefore: Date }): Promise<boolean> {
  const result = await db
    .updateTable('api_tokens')
    .set({ last_used_at: opts.now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', opts.staleBefore)]))
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}
