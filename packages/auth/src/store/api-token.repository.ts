import type { ApiToken, Db, NewApiToken } from '@gatehouse/db'

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

/** Deletes one of the user's tokens; false when it is not theirs or does not exist. */
export async function deleteApiToken(db: Db, userId: number, id: string): Promise<boolean> {
  const result = await db.deleteFrom('api_tokens').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()
  return result.numDeletedRows > 0n
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
