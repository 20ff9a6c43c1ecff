/**
 * What an import of a Django dump writes (import/import.ts), inside its one transaction: bulk
 * reads and inserts of users, groups, memberships and grants. Each insert is one statement; the
 * import sends its rows in chunks.
 */
import type { Db, NewUser } from '@gatehouse/db'
import { sql } from 'kysely'

/** Registrations wait for the import, so a username or id found free stays free until it commits. */
export async function lockUsersForImport(trx: Db): Promise<void> {
  await sql`lock table users in share row exclusive mode`.execute(trx)
}

/** Which of these usernames exist. */
export async function findTakenUsernames(db: Db, names: readonly string[]): Promise<string[]> {
  const rows = await db
    .selectFrom('users')
    .select('username')
    .where(sql<boolean>`username = any(${names}::text[])`)
    .execute()
  return rows.map((row) => row.username)
}

/** Which of these user ids exist. */
export async function findTakenUserIds(db: Db, ids: readonly number[]): Promise<number[]> {
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where(sql<boolean>`id = any(${ids}::int[])`)
    .execute()
  return rows.map((row) => row.id)
}

/** Creates the groups that do not exist yet; returns the names it created. */
export async function insertMissingGroups(db: Db, names: readonly string[]): Promise<string[]> {
  const rows = await db
    .insertInto('groups')
    .values(names.map((name) => ({ name })))
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('name')
    .execute()
  return rows.map((row) => row.name)
}

/** Every permission's id by its codename. */
export async function findPermissionIds(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom('permissions').select(['id', 'codename']).execute()
  return new Map(rows.map((p) => [p.codename, p.id]))
}

/**
 * Ids written explicitly do not move the identity sequence: this moves it past `pastId` (and
 * every id in the table), so the ids it hands out later never collide with the ones written.
 */
export async function advanceUserIdSequence(db: Db, pastId: number): Promise<void> {
  await sql`select setval(pg_get_serial_sequence('users', 'id'), greatest(
        ${pastId}::int,
        (select max(id) from users),
        nextval(pg_get_serial_sequence('users', 'id')) - 1))`.execute(db)
}

/** Inserts users; returns each one's id by username. */
export async function insertUsers(db: Db, users: readonly NewUser[]): Promise<{ id: number; username: string }[]> {
  return db
    .insertInto('users')
    .values([...users])
    .returning(['id', 'username'])
    .execute()
}

/** Adds users to groups; a membership that exists is left as it is. */
export async function insertMemberships(db: Db, rows: readonly { user_id: number; group_id: number }[]) {
  await db
    .insertInto('user_groups')
    .values([...rows])
    .onConflict((oc) => oc.doNothing())
    .execute()
}

/** Grants permissions to users; a grant that exists is left as it is. */
export async function insertUserGrants(db: Db, rows: readonly { user_id: number; permission_id: number }[]) {
  await db
    .insertInto('user_permissions')
    .values([...rows])
    .onConflict((oc) => oc.doNothing())
    .execute()
}

/** Grants permissions to groups; a grant that exists is left as it is. */
export async function insertGroupGrants(db: Db, rows: readonly { group_id: number; permission_id: number }[]) {
  await db
    .insertInto('group_permissions')
    .values([...rows])
    .onConflict((oc) => oc.doNothing())
    .execute()
}
