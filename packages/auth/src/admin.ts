/**
 * Users, groups and grants: what admin.* procedures and the CLI's twins do. Functions take `db`
 * first and return plain data; every change is read by the affected user's next request. A write
 * given an `actor` applies the delegation rule (permissions/delegation.ts) to the rows it locks,
 * in its own transaction, so the check and the write see the same target. A role
 * change (groups, is_staff, is_superuser) and deactivation also bump the user's token epoch, so
 * their outstanding access tokens stop at once (tokens/epoch.ts).
 */
import type { Db, User } from '@gatehouse/db'
import type { RawBuilder } from 'kysely'
import { sql } from 'kysely'

import type { Actor } from './permissions/delegation.js'
import { AuthError } from './errors.js'
import { authorizeAdminChange } from './permissions/delegation.js'
import {
  deleteGrant,
  findEffectiveCodenames,
  findPermissionByCodename,
  insertGrant,
  insertObjectGrant,
  listPermissions,
} from './store/permission.repository.js'
import { bumpGroupMembersEpoch, bumpTokenEpoch, NEXT_EPOCH } from './store/epoch.repository.js'
import { blacklistUserTokens } from './store/token.repository.js'
import { findUserByUsername, findUserWithGroups } from './store/user.repository.js'
import type { PublicUser } from './users/user.js'
import { toAuthUser, toPublicUser } from './users/user.js'
import { userGroupNames } from './store/group.repository.js'

/** A user as an administrator sees them: the public shape plus account state and direct grants. */
export interface AdminUser extends PublicUser {
  isActive: boolean
  /** Permissions granted to the user directly (not through groups). */
  permissions: string[]
  lastLogin: string | null
}

/** One query for any number of users: groups and direct permissions come as aggregated arrays. */
function selectAdminUsers(db: Db) {
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

function toAdminUser(row: User & { groups: string[]; permissions: string[] }): AdminUser {
  return {
    ...toPublicUser(toAuthUser(row, row.groups)),
    isActive: row.is_active,
    permissions: row.permissions,
    lastLogin: row.last_login ? row.last_login.toISOString() : null,
  }
}

export async function getAdminUser(db: Db, id: number): Promise<AdminUser> {
  const row = await selectAdminUsers(db).where('users.id', '=', id).executeTakeFirst()
  if (!row) throw new AuthError('NOT_FOUND', { message: `No user with id ${id}.` })
  return toAdminUser(row)
}

/** Keyset pagination by id; `search` matches username or email, case-insensitively. */
export async function listUsers(db: Db, opts: { search?: string; cursor?: number; limit: number }) {
  let query = selectAdminUsers(db)
    .orderBy('users.id')
    .limit(opts.limit + 1)
  if (opts.cursor !== undefined) query = query.where('users.id', '>', opts.cursor)
  if (opts.search) {
    const pattern = `%${opts.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    query = query.where((eb) => eb.or([eb('users.username', 'ilike', pattern), eb('users.email', 'ilike', pattern)]))
  }
  const rows = await query.execute()
  const items = rows.slice(0, opts.limit).map(toAdminUser)
  return { items, nextCursor: rows.length > opts.limit ? (items.at(-1)?.id ?? null) : null }
}

async function requireUserId(db: Db, username: string): Promise<number> {
  const row = await findUserByUsername(db, username)
  if (!row) throw new AuthError('NOT_FOUND', { message: `No user named "${username}".` })
  return row.id
}

async function requirePermissionId(db: Db, codename: string): Promise<number> {
  const permission = await findPermissionByCodename(db, codename)
  if (!permission) throw new AuthError('NOT_FOUND', { message: `No permission "${codename}".` })
  return permission.id
}

/**
 * Who is asking, for the delegation rule (permissions/delegation.ts). Absent: the operator (the
 * CLI), whom no rule binds; every admin.* procedure passes one.
 */
export interface ActingAs {
  actor?: Actor | undefined
}

/**
 * The user's row, locked until the transaction ends: the rule reads is_superuser (and what an
 * activation gives back) from the same row version the write then changes.
 */
async function lockUser(trx: Db, id: number) {
  const row = await trx
    .selectFrom('users')
    .select(['id', 'is_superuser', 'is_staff'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
  if (!row) throw new AuthError('NOT_FOUND', { message: `No user with id ${id}.` })
  return { id: row.id, isSuperuser: row.is_superuser, isStaff: row.is_staff }
}

/** The group's row, locked, and its members: a change to a group acts on each of them. */
async function lockGroup(trx: Db, name: string) {
  const group = await trx.selectFrom('groups').select('id').where('name', '=', name).forUpdate().executeTakeFirst()
  if (!group) throw new AuthError('NOT_FOUND', { message: `No group named "${name}".` })
  const members = await trx
    .selectFrom('user_groups as ug')
    .innerJoin('users as u', 'u.id', 'ug.user_id')
    .select(['u.id', 'u.is_superuser'])
    .where('ug.group_id', '=', group.id)
    .execute()
  return {
    id: group.id,
    target: { group: name, members: members.map((m) => ({ id: m.id, isSuperuser: m.is_superuser })) },
  }
}

export async function updateUserFlags(
  db: Db,
  id: number,
  changes: { email?: string; isStaff?: boolean; isSuperuser?: boolean } & ActingAs,
): Promise<AdminUser> {
  const set: { email?: string; is_staff?: boolean; is_superuser?: boolean; token_epoch?: RawBuilder<number> } = {}
  if (changes.email !== undefined) set.email = changes.email
  if (changes.isStaff !== undefined) set.is_staff = changes.isStaff
  if (changes.isSuperuser !== undefined) set.is_superuser = changes.isSuperuser
  // A role change bumps the epoch, in the same statement and only when a flag really changes
  // (the right-hand side of SET reads the row as it was).
  const roleChanges = [
    changes.isStaff !== undefined && sql`is_staff <> ${changes.isStaff}`,
    changes.isSuperuser !== undefined && sql`is_superuser <> ${changes.isSuperuser}`,
  ].filter((c) => c !== false)
  if (roleChanges.length > 0) {
    set.token_epoch = sql<number>`token_epoch + case when ${sql.join(roleChanges, sql` or `)} then 1 else 0 end`
  }
  await db.transaction().execute(async (trx) => {
    const target = await lockUser(trx, id)
    if (changes.actor) {
      const gift = { staff: changes.isStaff === true, superuser: changes.isSuperuser !== undefined }
      authorizeAdminChange(changes.actor, { user: target }, gift)
    }
    if (Object.keys(set).length > 0) await trx.updateTable('users').set(set).where('id', '=', id).execute()
  })
  return getAdminUser(db, id)
}

/**
 * Deactivation also blacklists the user's refresh and sliding tokens and bumps their token epoch:
 * their access tokens stop at once (every request re-reads is_active) and stay dead after a
 * reactivation (the epoch moved on). Reactivation gives the account back its groups, grants and
 * staff status, so the rule asks the actor to hold them all.
 */
export async function setUserActive(db: Db, id: number, change: { active: boolean } & ActingAs): Promise<AdminUser> {
  await db.transaction().execute(async (trx) => {
    const target = await lockUser(trx, id)
    if (change.actor) {
      const gift = change.active
        ? {
            staff: target.isStaff,
            groups: (await findUserWithGroups(trx, id))?.groups ?? [],
            permissions: await findEffectiveCodenames(trx, id),
          }
        : {}
      authorizeAdminChange(change.actor, { user: target }, gift)
    }
    const set = change.active ? { is_active: true } : { is_active: false, token_epoch: NEXT_EPOCH }
    await trx.updateTable('users').set(set).where('id', '=', id).execute()
    if (!change.active) await blacklistUserTokens(trx, id)
  })
  return getAdminUser(db, id)
}

export async function setUserActiveByName(db: Db, username: string, active: boolean): Promise<AdminUser> {
  return setUserActive(db, await requireUserId(db, username), { active })
}

/** Replaces the user's groups with exactly these (all must exist); the groups added are what it gives. */
export async function setUserGroups(
  db: Db,
  id: number,
  change: { groups: readonly string[] } & ActingAs,
): Promise<AdminUser> {
  const { groups } = change
  await db.transaction().execute(async (trx) => {
    // The user's row lock serialises two setGroups for one user: otherwise both delete the old set
    // and both insert the new one, and the second insert fails on the first's rows.
    const target = await lockUser(trx, id)
    const found = groups.length
      ? await trx
          .selectFrom('groups')
          .select(['id', 'name'])
          .where('name', 'in', [...groups])
          .execute()
      : []
    const missing = groups.filter((g) => !found.some((f) => f.name === g))
    if (missing.length > 0) {
      throw new AuthError('INVALID_INPUT', { fieldErrors: { groups: missing.map((g) => `No group named "${g}".`) } })
    }
    if (change.actor) {
      const current = await trx.selectFrom('user_groups').select('group_id').where('user_id', '=', id).execute()
      const added = found.filter((g) => !current.some((c) => c.group_id === g.id)).map((g) => g.name)
      authorizeAdminChange(change.actor, { user: target }, { groups: added })
    }
    const removed = await trx.deleteFrom('user_groups').where('user_id', '=', id).returning('group_id').execute()
    if (found.length > 0) {
      await trx
        .insertInto('user_groups')
        .values(found.map((g) => ({ user_id: id, group_id: g.id })))
        .execute()
    }
    const before = new Set(removed.map((r) => r.group_id))
    const changed = before.size !== found.length || found.some((g) => !before.has(g.id))
    if (changed) await bumpTokenEpoch(trx, id)
  })
  return getAdminUser(db, id)
}

export async function listGroups(db: Db) {
  const rows = await sql<{ id: number; name: string; members: number; permissions: string[] }>`
    select g.id, g.name,
      (select count(*)::int from user_groups ug where ug.group_id = g.id) as members,
      coalesce((select array_agg(p.codename order by p.codename) from group_permissions gp
        join permissions p on p.id = gp.permission_id where gp.group_id = g.id), '{}') as permissions
    from groups g order by g.name`.execute(db)
  return rows.rows
}

/** Deleting a group is a role change for each member: their epochs are bumped with it. */
export async function deleteGroup(db: Db, name: string, by: ActingAs = {}): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const group = await lockGroup(trx, name)
    if (by.actor) authorizeAdminChange(by.actor, group.target)
    await bumpGroupMembersEpoch(trx, group.id)
    await trx.deleteFrom('groups').where('id', '=', group.id).execute()
  })
}

export { listPermissions }

export type GrantTarget = { username: string } | { group: string }

/** A grant or a revocation: to a user or a group, one codename, and who asks. */
export type GrantChange = GrantTarget & { codename: string } & ActingAs

async function grantChange(db: Db, change: GrantChange, give: boolean): Promise<boolean> {
  const permissionId = await requirePermissionId(db, change.codename)
  return db.transaction().execute(async (trx) => {
    const locked =
      'username' in change
        ? await lockUser(trx, await requireUserId(trx, change.username)).then((user) => ({
            holder: { userId: user.id },
            target: { user },
          }))
        : await lockGroup(trx, change.group).then((group) => ({ holder: { groupId: group.id }, target: group.target }))
    if (change.actor) authorizeAdminChange(change.actor, locked.target, give ? { permissions: [change.codename] } : {})
    return give ? insertGrant(trx, locked.holder, permissionId) : deleteGrant(trx, locked.holder, permissionId)
  })
}

/** Grants a model permission to a user or a group; false when it was already held. */
export async function grantPermission(db: Db, change: GrantChange): Promise<boolean> {
  return grantChange(db, change, true)
}

export async function revokePermission(db: Db, change: GrantChange): Promise<boolean> {
  return grantChange(db, change, false)
}

/** A per-object grant (django-guardian's assign_perm) to one user. */
export async function grantObjectPermission(
  db: Db,
  grant: { username: string; codename: string; objectId: string },
): Promise<boolean> {
  const [userId, permissionId] = await Promise.all([
    requireUserId(db, grant.username),
    requirePermissionId(db, grant.codename),
  ])
  return insertObjectGrant(db, { userId, permissionId, objectId: grant.objectId })
}
