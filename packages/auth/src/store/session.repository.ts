import type { Db, NewSession, Session } from '@gatehouse/db'

export async function insertSession(db: Db, session: NewSession): Promise<Session> {
  return db.insertInto('sessions').values(session).returningAll().executeTakeFirstOrThrow()
}

export async function findSession(db: Db, id: string): Promise<Session | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst()
}

/** The user's sessions that have not expired, oldest first. */
export async function findLiveUserSessions(db: Db, userId: number, now: Date): Promise<Session[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('expires_at', '>', now)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
}

/**
 * Records a use and slides the expiry, unless a use was recorded since `staleBefore` or the
 * session has expired meanwhile. The condition is in the statement, so of several processes
 * seeing the same stale row exactly one writes.
 */
export async function touchSession(
  db: Db,
  id: string,
  opts: { now: Date; staleBefore: Date; expiresAt: Date },
): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ last_used_at: opts.now, expires_at: opts.expiresAt })
    .where('id', '=', id)
    .where('last_used_at', '<=', opts.staleBefore)
    .where('expires_at', '>', opts.now)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export async function deleteSession(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('sessions').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** Deletes one of the user's sessions; false when it is not theirs or does not exist. */
export async function deleteUserSession(db: Db, userId: number, id: string): Promise<boolean> {
  const result = await db.deleteFrom('sessions').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/**
 * Deletes the user's sessions (log out everywhere, a password change), all but `except` when
 * given; returns the ids deleted.
 */
export async function deleteUserSessions(db: Db, userId: number, opts: { except?: string | undefined } = {}) {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId)
  if (opts.except !== undefined) query = query.where('id', '!=', opts.except)
  return (await query.returning('id').execute()).map((row) => row.id)
}
