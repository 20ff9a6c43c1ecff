/**
 * Users, groups and grants: what admin.* procedures and the CLI's twins do. Functions take `db`
 * first and return plain data; every change is read by the affected user's next request. A write
 * given an `actor` applies the delegation rule (permissions/delegation.ts) to the rows it locks,
 * in its own transaction, so the check and the write see the same target. A role
 * change (groups, is_staff, is_superuser) and deactivation also bump the user's token epoch, so
 * their outstanding access tokens stop at once (tokens/epoch.ts).
 */
import type { Db } from '@gatehouse/db'

import type { Actor } from './permissions/delegation.js'
import type { UserWithGrants } from './store/user.repository.js'
import type { PublicUser } from './users/user.js'
import { AuthError } from './errors.js'
import { authorizeAdminChange } from './permissions/delegation.js'
import { bumpGroupMembersEpoch, bumpTokenEpoch } from './store/epoch.repository.js'
import {
  deleteGroupById,
  findGroupsByName,
  findUserGroupIds,
  listGroupsWithGrants,
  lockGroupWithMembers,
  replaceUserGroups,
} from './store/group.repository.js'
import {
  deleteGrant,
  findEffectiveCodenames,
  findPermissionByCodename,
  insertGrant,
  insertObjectGrant,
  listPermissions,
} from './store/permission.repository.js'
import { blacklistUserTokens } from './store/token.repository.js'
import {
  findUsersWithGrants,
  findUserWithGrants,
  findUserWithGroups,
  lockUser,
  updateUserActive,
  updateUserFlagsRow,
} from './store/user.repository.js'
import { requireUser } from './users/require-user.js'
import { toAuthUser, toPublicUser } from './users/user.js'

/** A user as an administrator sees them: the public shape plus account state and direct grants. */
export interface AdminUser extends PublicUser {
  isActive: boolean
  /** Permissions granted to the user directly (not through groups). */
  permissions: string[]
  lastLogin: string | null
}

function toAdminUser(row: UserWithGrants): AdminUser {
  return {
    ...toPublicUser(toAuthUser(row, row.groups)),
    isActive: row.is_active,
    permissions: row.permissions,
    lastLogin: row.last_login ? row.last_login.toISOString() : null,
  }
}

export async function getAdminUser(db: Db, id: number): Promise<AdminUser> {
  const row = await findUserWithGrants(db, id)
  if (!row) throw new AuthError('NOT_FOUND', { message: `No user with id ${id}.` })
  return toAdminUser(row)
}

/** Keyset pagination by id; `search` matches username or email, case-insensitively. */
export async function listUsers(db: Db, opts: { search?: string; cursor?: number; limit: number }) {
  // One more than a page: whether there is a next one.
  const rows = await findUsersWithGrants(db, { search: opts.search, afterId: opts.cursor, limit: opts.limit + 1 })
  const items = rows.slice(0, opts.limit).map(toAdminUser)
  return { items, nextCursor: rows.length > opts.limit ? (items.at(-1)?.id ?? null) : null }
}

async function requireUserId(db: Db, username: string): Promise<number> {
  return (await requireUser(db, username)).id
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
async function lockTargetUser(trx: Db, id: number) {
  const row = await lockUser(trx, id)
  if (!row) throw new AuthError('NOT_FOUND', { message: `No user with id ${id}.` })
  return { id: row.id, isSuperuser: row.is_superuser, isStaff: row.is_staff }
}

/** The group's row, locked, and its members: a change to a group acts on each of them. */
async function lockGroup(trx: Db, name: string) {
  const group = await lockGroupWithMembers(trx, name)
  if (!group) throw new AuthError('NOT_FOUND', { message: `No group named "${name}".` })
  const { members } = group
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
  await db.transaction().execute(async (trx) => {
    const target = await lockTargetUser(trx, id)
    if (changes.actor) {
      const gift = { staff: changes.isStaff === true, superuser: changes.isSuperuser !== undefined }
      authorizeAdminChange(changes.actor, { user: target }, gift)
    }
    // A role change bumps the epoch, in the same statement (user.repository.ts).
    await updateUserFlagsRow(trx, id, changes)
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
    const target = await lockTargetUser(trx, id)
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
    await updateUserActive(trx, id, change.active)
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
    const target = await lockTargetUser(trx, id)
    const found = await findGroupsByName(trx, groups)
    const missing = groups.filter((g) => !found.some((f) => f.name === g))
    if (missing.length > 0) {
      throw new AuthError('INVALID_INPUT', { fieldErrors: { groups: missing.map((g) => `No group named "${g}".`) } })
    }
    if (change.actor) {
      const current = await findUserGroupIds(trx, id)
      const added = found.filter((g) => !current.includes(g.id)).map((g) => g.name)
      authorizeAdminChange(change.actor, { user: target }, { groups: added })
    }
    const groupIds = found.map((g) => g.id)
    const before = new Set(await replaceUserGroups(trx, id, groupIds))
    const changed = before.size !== found.length || found.some((g) => !before.has(g.id))
    if (changed) await bumpTokenEpoch(trx, id)
  })
  return getAdminUser(db, id)
}

export async function listGroups(db: Db) {
  return listGroupsWithGrants(db)
}

/** Deleting a group is a role change for each member: their epochs are bumped with it. */
export async function deleteGroup(db: Db, name: string, by: ActingAs = {}): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const group = await lockGroup(trx, name)
    if (by.actor) authorizeAdminChange(by.actor, group.target)
    await bumpGroupMembersEpoch(trx, group.id)
    await deleteGroupById(trx, group.id)
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
        ? await lockTargetUser(trx, await requireUserId(trx, change.username)).then((user) => ({
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
