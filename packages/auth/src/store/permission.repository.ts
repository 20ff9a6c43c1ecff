import type { Db } from '@gatehouse/db'
import { sql } from 'kysely'

/** Codenames the user holds directly or through any of their groups. */
export async function findEffectiveCodenames(db: Db, userId: number): Promise<string[]> {
  const rows = await sql<{ codename: string }>`
    select p.codename from permissions p
    where p.id in (
      select permission_id from user_permissions where user_id = ${userId}
      union
      select gp.permission_id from group_permissions gp
      join user_groups ug on ug.group_id = gp.group_id
      where ug.user_id = ${userId}
    )
    order by p.codename`.execute(db)
  return rows.rows.map((r) => r.codename)
}

/** Per-object grants of a user (own and through groups), optionally for one object. */
export async function findObjectGrants(
  db: Db,
  userId: number,
  filter: { resource?: string; objectId?: string } = {},
): Promise<{ resource: string; object_id: string; codename: string }[]> {
  let query = db
    .selectFrom('object_permissions as op')
    .innerJoin('permissions as p', 'p.id', 'op.permission_id')
    .select(['p.resource', 'op.object_id', 'p.codename'])
    .where((eb) =>
      eb.or([
        eb('op.user_id', '=', userId),
        eb('op.group_id', 'in', eb.selectFrom('user_groups').select('group_id').where('user_id', '=', userId)),
      ]),
    )
  if (filter.resource) query = query.where('p.resource', '=', filter.resource)
  if (filter.objectId) query = query.where('op.object_id', '=', filter.objectId)
  return query.execute()
}

export async function findPermissionByCodename(db: Db, codename: string) {
  return db.selectFrom('permissions').selectAll().where('codename', '=', codename).executeTakeFirst()
}

export async function listPermissions(db: Db) {
  return db
    .selectFrom('permissions')
    .select(['codename', 'resource', 'name'])
    .orderBy('resource')
    .orderBy('codename')
    .execute()
}

type Holder = { userId: number } | { groupId: number }

export async function insertGrant(db: Db, holder: Holder, permissionId: number): Promise<boolean> {
  const result =
    'userId' in holder
      ? await db
          .insertInto('user_permissions')
          .values({ user_id: holder.userId, permission_id: permissionId })
          .onConflict((oc) => oc.columns(['user_id', 'permission_id']).doNothing())
          .executeTakeFirst()
      : await db
          .insertInto('group_permissions')
          .values({ group_id: holder.groupId, permission_id: permissionId })
          .onConflict((oc) => oc.columns(['group_id', 'permission_id']).doNothing())
          .executeTakeFirst()
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n
}

export async function deleteGrant(db: Db, holder: Holder, permissionId: number): Promise<boolean> {
  const result =
    'userId' in holder
      ? await db
          .deleteFrom('user_permissions')
          .where('user_id', '=', holder.userId)
          .where('permission_id', '=', permissionId)
          .executeTakeFirst()
      : await db
          .deleteFrom('group_permissions')
          .where('group_id', '=', holder.groupId)
          .where('permission_id', '=', permissionId)
          .executeTakeFirst()
  return result.numDeletedRows > 0n
}

export async function insertObjectGrant(
  db: Db,
  grant: { userId: number; permissionId: number; objectId: string },
): Promise<boolean> {
  // One statement, so two grants of the same thing at once cannot both pass a check and collide.
  const result = await db
    .insertInto('object_permissions')
    .values({ user_id: grant.userId, permission_id: grant.permissionId, object_id: grant.objectId, group_id: null })
    .onConflict((oc) =>
      oc.columns(['user_id', 'permission_id', 'object_id']).where('user_id', 'is not', null).doNothing(),
    )
    .executeTakeFirst()
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n
}
