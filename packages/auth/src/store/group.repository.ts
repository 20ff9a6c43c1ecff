import type { Db, Group } from '@gatehouse/db'
import type { AliasedRawBuilder } from 'kysely'
import { sql } from 'kysely'

/**
 * The names of a user's groups, sorted (an empty array for none), as the column `groups` of a
 * query over `users`: how every read of a user, for authentication or for an administrator, gets
 * them in the same round trip.
 * @example
 * db.selectFrom('users').selectAll('users').select(userGroupNames()).where('users.id', '=', id)
 */
export function userGroupNames(): AliasedRawBuilder<string[], 'groups'> {
  return sql<
    string[]
  >`coalesce((select array_agg(g.name order by g.name) from user_groups ug join groups g on g.id = ug.group_id where ug.user_id = users.id), '{}')`.as(
    'groups',
  )
}

export async function findGroupByName(db: Db, name: string): Promise<Group | undefined> {
  return db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst()
}

/** Returns the group, and whether this call created it. */
export async function ensureGroup(db: Db, name: string): Promise<{ group: Group; created: boolean }> {
  const inserted = await db
    .insertInto('groups')
    .values({ name })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst()
  if (inserted) return { group: inserted, created: true }
  const group = await db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirstOrThrow()
  return { group, created: false }
}

export async function insertUserGroup(db: Db, userId: number, groupId: number): Promise<boolean> {
  const result = await db
    .insertInto('user_groups')
    .values({ user_id: userId, group_id: groupId })
    .onConflict((oc) => oc.columns(['user_id', 'group_id']).doNothing())
    .executeTakeFirst()
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n
}

export async function deleteUserGroup(db: Db, userId: number, groupId: number): Promise<boolean> {
  const result = await db
    .deleteFrom('user_groups')
    .where('user_id', '=', userId)
    .where('group_id', '=', groupId)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}
