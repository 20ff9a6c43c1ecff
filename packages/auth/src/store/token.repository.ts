import type { Db, NewOutstandingToken, OutstandingToken } from '@gatehouse/db'

export async function insertOutstandingToken(db: Db, token: NewOutstandingToken): Promise<void> {
  await db.insertInto('outstanding_tokens').values(token).execute()
}

export async function findOutstandingToken(db: Db, jti: string): Promise<OutstandingToken | undefined> {
  return db.selectFrom('outstanding_tokens').selectAll().where('jti', '=', jti).executeTakeFirst()
}

export async function isBlacklisted(db: Db, jti: string): Promise<boolean> {
  const row = await db.selectFrom('blacklisted_tokens').select('jti').where('jti', '=', jti).executeTakeFirst()
  return row !== undefined
}

/**
 * Blacklists one token. Returns true if this call did it, false if it already was: the primary
 * key makes "check and set" one atomic statement, which is what makes rotation single-use.
 */
export async function blacklistToken(db: Db, jti: string): Promise<boolean> {
  const row = await db
    .insertInto('blacklisted_tokens')
    .values({ jti })
    .onConflict((oc) => oc.column('jti').doNothing())
    .returning('jti')
    .executeTakeFirst()
  return row !== undefined
}

/** Blacklists every token of a login's family (refresh-token reuse detected). */
export async function blacklistFamily(db: Db, familyId: string): Promise<void> {
  await db
    .insertInto('blacklisted_tokens')
    .columns(['jti'])
    .expression((eb) => eb.selectFrom('outstanding_tokens').select('jti').where('family_id', '=', familyId))
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute()
}

/** Blacklists every outstanding token of a user ("log out everywhere", deactivation). */
export async function blacklistUserTokens(db: Db, userId: number): Promise<void> {
  await db
    .insertInto('blacklisted_tokens')
    .columns(['jti'])
    .expression((eb) => eb.selectFrom('outstanding_tokens').select('jti').where('user_id', '=', userId))
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute()
}
