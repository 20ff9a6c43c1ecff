import type { Db, NewUser, User, UserUpdate } from '@gatehouse/db'
import type { RawBuilder } from 'kysely'
import { sql } from 'kysely'

import { normalizeUsername } from '../users/username.js'
import { NEXT_EPOCH } from './epoch.repository.js'
import { userGroupNames } from './group.repository.js'

/** By any spelling of the name: it is normalised as stored (users/username.ts). */
export async function findUserByUsername(db: Db, username: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', normalizeUsername(username)).executeTakeFirst()
}

/** One round trip: the user and the names of their groups. */
export async function findUserWithGroups(db: Db, id: number): Promise<(User & { groups: string[] }) | undefined> {
  const row = await db
    .selectFrom('users')
    .selectAll('users')
    .select(userGroupNames())
    .where('users.id', '=', id)
    .executeTakeFirst()
  return row
}

/** Inserts unless the username exists (atomically); undefined means it was taken. */
export async function insertUser(db: Db, user: NewUser): Promise<User | undefined> {
  return db
    .insertInto('users')
    .values(user)
    .onConflict((oc) => oc.column('username').doNothing())
    .returningAll()
    .executeTakeFirst()
}

export async function updateUser(db: Db, id: number, update: UserUpdate): Promise<void> {
  await db.updateTable('users').set(update).where('id', '=', id).execute()
}

/**
 * The highest PBKDF2 iteration count among stored hashes (imported Django users), or null when
 * there are none: the slowest password check this database can ask for.
 */
export async function findSlowestPbkdf2Iterations(db: Db): Promise<number | null> {
  const row = await db
    .selectFrom('users')
    .select(sql<string | null>`max(split_part(password, '$', 2)::bigint)`.as('iterations'))
    .where(sql<boolean>`password ~ '^pbkdf2_sha256\\$[1-9][0-9]{0,9}\\$'`)
    .executeTakeFirst()
  return row?.iterations == null ? null : Number(row.iterations)
}

/** A user with the names of their groups and of the permissions granted to them directly. */
export type UserWithGrants = User & { groups: string[]; permissions: string[] }

/** One query for any number of users: groups and direct permissions come as aggregated arrays. */
function selectUsersWithGrants(db: Db) {
  return db
    .selectFrom('users')
    .selectAll('users')
    .select([
      userGroupNames(),
      sql<
        string[]
      >`coalesce((select array_agg(p.codename order by p.codename) from user_permissions up join permissions p on p.id = up.permission_id where up.user_id = users.id), '{}')`.as(
        'permissions',
      ),
    ])
}

export async function findUserWithGrants(db: Db, id: number): Promise<UserWithGrants | undefined> {
  return selectUsersWithGrants(db).where('users.id', '=', id).executeTakeFirst()
}

/**
 * Up to `limit` users by id, after `afterId` when given; `search` matches username or email,
 * case-insensitively, as a substring (its LIKE wildcards matched literally).
 */
export async function findUsersWithGrants(
  db: Db,
  opts: { search?: string | undefined; afterId?: number | undefined; limit: number },
): Promise<UserWithGrants[]> {
  let query = selectUsersWithGrants(db).orderBy('users.id').limit(opts.limit)
  if (opts.afterId !== undefined) query = query.where('users.id', '>', opts.afterId)
  if (opts.search) {
    const pattern = `%${opts.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    query = query.where((eb) => eb.or([eb('users.username', 'ilike', pattern), eb('users.email', 'ilike', pattern)]))
  }
  return query.execute()
}

/** The user's row, locked until the transaction ends (what the delegation rule reads of it). */
export async function lockUser(trx: Db, id: number) {
  return trx
    .selectFrom('users')
    .select(['id', 'is_superuser', 'is_staff'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
}

/**
 * Sets the given account flags. A role change (is_staff, is_superuser) bumps the token epoch in
 * the same statement, and only when a flag really changes: the right-hand side of SET reads the
 * row as it was.
 */
export async function updateUserFlagsRow(
  db: Db,
  id: number,
  changes: { email?: string | undefined; isStaff?: boolean | undefined; isSuperuser?: boolean | undefined },
): Promise<void> {
  const set: { email?: string; is_staff?: boolean; is_superuser?: boolean; token_epoch?: RawBuilder<number> } = {}
  if (changes.email !== undefined) set.email = changes.email
  if (changes.isStaff !== undefined) set.is_staff = changes.isStaff
  if (changes.isSuperuser !== undefined) set.is_superuser = changes.isSuperuser
  const roleChanges = [
    changes.isStaff !== undefined && sql`is_staff <> ${changes.isStaff}`,
    changes.isSuperuser !== undefined && sql`is_superuser <> ${changes.isSuperuser}`,
  ].filter((c) => c !== false)
  if (roleChanges.length > 0) {
    set.token_epoch = sql<number>`token_epoch + case when ${sql.join(roleChanges, sql` or `)} then 1 else 0 end`
  }
  if (Object.keys(set).length > 0) await db.updateTable('users').set(set).where('id', '=', id).execute()
}

/** Activates or deactivates the user; deactivation bumps the token epoch with it. */
export async function updateUserActive(db: Db, id: number, active: boolean): Promise<void> {
  const set = active ? { is_active: true } : { is_active: false, token_epoch: NEXT_EPOCH }
  await db.updateTable('users').set(set).where('id', '=', id).execute()
}
