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

/** The groups of these names that exist, in no particular order. */
export async function findGroupsByName(db: Db, names: readonly string[]): Promise<{ id: number; name: string }[]> {
  if (names.length === 0) return []
  return db
    .selectFrom('groups')
    .select(['id', 'name'])
    .where(sql<boolean>`name = any(${names}::text[])`)
    .execute()
}

/** The group's row, locked until the transaction ends, and its members (each with is_superuser). */
export async function lockGroupWithMembers(trx: Db, name: string) {
  const group = await trx.selectFrom('groups').select('id').where('name', '=', name).forUpdate().executeTakeFirst()
  if (!group) return undefined
  const members = await trx
    .selectFrom('user_groups as ug')
    .innerJoin('users as u', 'u.id', 'ug.user_id')
    .select(['u.id', 'u.is_superuser'])
    .where('ug.group_id', '=', group.id)
    .execute()
  return { id: group.id, members }
}

/** The ids of the user's groups. */
export async function findUserGroupIds(db: Db, userId: number): Promise<number[]> {
  const rows = await db.selectFrom('user_groups').select('group_id').where('user_id', '=', userId).execute()
  return rows.map((row) => row.group_id)
}

/** Makes these the user's only groups; returns the ids of the groups they were in before. */
export async function replaceUserGroups(db: Db, userId: number, groupIds: readonly number[]): Promise<number[]> {
  const removed = await db.deleteFrom('user_groups').where('user_id', '=', userId).returning('group_id').execute()
  if (groupIds.length > 0) {
    await db
      .insertInto('user_groups')
      .values(groupIds.map((groupId) => ({ user_id: userId, group_id: groupId })))
      .execute()
  }
  return removed.map((row) => row.group_id)
}

/** Every group, by name, with its member count and the codenames granted to it. */
export async function listGroupsWithGrants(db: Db) {
  const rows = await sql<{ id: number; name: string; members: number; permissions: string[] }>`
    select g.id, g.name,
      (select count(*)::int from user_groups ug where ug.group_id = g.id) as members,
      coalesce((select array_agg(p.codename order by p.codename) from group_permissions gp
        join permissions p on p.id = gp.permission_id where gp.group_id = g.id), '{}') as permissions
    from groups g order by g.name`.execute(db)
  return rows.rows
}

export async function deleteGroupById(db: Db, id: number): Promise<void> {
  await db.deleteFrom('groups').where('id', '=', id).execute()
}
