/**
 * Writing a parsed Django dump: all of it or none of it, in one transaction. Password hashes are
 * kept as Django wrote them, so users log in with their old passwords (`pbkdf2_sha256$…` verifies
 * and is rehashed to bcrypt on the first login); a hash no one here can check becomes Django's
 * unusable password. User ids are kept where they are free, so the application's own tables that
 * point at auth_user keep pointing at the right people.
 */
import { randomBytes } from 'node:crypto'

import type { Db, NewUser } from '@gatehouse/db'

import { isVerifiableHash } from '../password/index.js'
import { findGroupsByName } from '../store/group.repository.js'
import {
  advanceUserIdSequence,
  findPermissionIds,
  findTakenUserIds,
  findTakenUsernames,
  insertGroupGrants,
  insertMemberships,
  insertMissingGroups,
  insertUserGrants,
  insertUsers,
  lockUsersForImport,
} from '../store/import.repository.js'
import type { DjangoDump, DumpPermission, DumpUser } from './django.js'

export interface ImportReport {
  /** Users written. */
  users: number
  /** Groups that did not exist before. */
  groupsCreated: number
  /** Users of the dump whose username was taken here: not written. */
  existingUsers: string[]
  /** Groups of the dump that existed here already; their members and grants are added to them. */
  existingGroups: string[]
  /** Users written with an unusable password, and why (`argon2`, `md5`, `unusable`, …). */
  unusable: { username: string; why: string }[]
  /** Users whose Django id belongs to someone else here, so they got a new one. */
  renumbered: { username: string; from: number; to: number }[]
  /** Natural-key permissions of the dump that have no codename here. */
  unknownPermissions: string[]
  /** Permissions given as ids of the old database, which cannot be mapped. */
  unmappedPermissionIds: number
  /** Records of other models, by model, with counts. */
  ignored: ReadonlyMap<string, number>
}

const CHUNK = 500

/** Why a stored hash can never verify here, or null when it can. */
function unusableReason(encoded: string): string | null {
  if (isVerifiableHash(encoded)) return null
  if (encoded === '') return 'no password'
  if (encoded.startsWith('!')) return 'unusable'
  const algorithm = /^([a-z0-9_]+)\$/i.exec(encoded)?.[1]
  if (algorithm === 'pbkdf2_sha256' || algorithm === 'bcrypt_sha256') return `corrupt ${algorithm}`
  return algorithm ?? 'unknown format'
}

/** Django's make_password(None): `!` and 40 random characters, which no password matches. */
function unusablePassword(): string {
  return `!${randomBytes(30).toString('base64url')}`
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

function userRow(user: DumpUser, keepId: boolean): NewUser {
  return {
    ...(keepId && user.pk !== null ? { id: user.pk } : {}),
    username: user.username,
    password: unusableReason(user.password) === null ? user.password : unusablePassword(),
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    is_active: user.isActive,
    is_staff: user.isStaff,
    is_superuser: user.isSuperuser,
    ...(user.dateJoined ? { date_joined: user.dateJoined } : {}),
    last_login: user.lastLogin,
  }
}

/**
 * @example
 * const report = await importDjangoUsers(db, parseDjangoDump(text, { source: 'users.json' }))
 * console.log(describeImport(report)) // Imported 3 users and 2 groups (1 skipped: alice exists).
 */
export async function importDjangoUsers(db: Db, dump: DjangoDump): Promise<ImportReport> {
  return db.transaction().execute(async (trx) => {
    // Registrations wait for the import, so a username or id found free here stays free.
    await lockUsersForImport(trx)
    const names = dump.users.map((u) => u.username)
    const existing = new Set(await findTakenUsernames(trx, names))
    const users = dump.users.filter((u) => !existing.has(u.username))
    const pks = users.flatMap((u) => (u.pk === null ? [] : [u.pk]))
    const idTaken = new Set(await findTakenUserIds(trx, pks))

    const groupNames = [...new Set([...dump.groups.map((g) => g.name), ...users.flatMap((u) => u.groups)])]
    const created = new Set<string>()
    for (const chunk of chunks(groupNames)) {
      for (const name of await insertMissingGroups(trx, chunk)) created.add(name)
    }
    const groupIds = new Map((await findGroupsByName(trx, groupNames)).map((g) => [g.name, g.id]))

    const permissionIds = await findPermissionIds(trx)
    const unknownPermissions = new Set<string>()
    let unmappedPermissionIds = 0
    const resolve = (refs: readonly DumpPermission[]): number[] =>
      refs.flatMap((ref) => {
        if ('id' in ref) {
          unmappedPermissionIds += 1
          return []
        }
        const id = permissionIds.get(ref.codename)
        if (id === undefined) unknownPermissions.add(ref.codename)
        return id === undefined ? [] : [id]
      })

    const keptIds = users.flatMap((u) => (u.pk !== null && !idTaken.has(u.pk) ? [u.pk] : []))
    if (keptIds.length > 0) {
      // Ids written explicitly do not move the identity sequence: move it past them first, so the
      // ids it hands out (to renumbered users here, to registrations later) never collide.
      await advanceUserIdSequence(trx, Math.max(...keptIds))
    }
    const userIds = new Map<string, number>()
    for (const chunk of chunks(users)) {
      const rows = chunk.map((u) => userRow(u, u.pk !== null && !idTaken.has(u.pk)))
      for (const row of await insertUsers(trx, rows)) userIds.set(row.username, row.id)
    }

    const memberships = users.flatMap((u) =>
      u.groups.map((g) => ({ user_id: userIds.get(u.username) ?? 0, group_id: groupIds.get(g) ?? 0 })),
    )
    for (const chunk of chunks(memberships)) await insertMemberships(trx, chunk)
    const userGrants = users.flatMap((u) =>
      [...new Set(resolve(u.permissions))].map((id) => ({ user_id: userIds.get(u.username) ?? 0, permission_id: id })),
    )
    for (const chunk of chunks(userGrants)) await insertUserGrants(trx, chunk)
    const groupGrants = dump.groups.flatMap((g) =>
      [...new Set(resolve(g.permissions))].map((id) => ({ group_id: groupIds.get(g.name) ?? 0, permission_id: id })),
    )
    for (const chunk of chunks(groupGrants)) await insertGroupGrants(trx, chunk)

    return {
      users: users.length,
      groupsCreated: created.size,
      existingUsers: dump.users.filter((u) => existing.has(u.username)).map((u) => u.username),
      existingGroups: groupNames.filter((name) => !created.has(name)),
      unusable: users.flatMap((u) => {
        const why = unusableReason(u.password)
        return why === null ? [] : [{ username: u.username, why }]
      }),
      renumbered: users.flatMap((u) =>
        u.pk !== null && idTaken.has(u.pk)
          ? [{ username: u.username, from: u.pk, to: userIds.get(u.username) ?? 0 }]
          : [],
      ),
      unknownPermissions: [...unknownPermissions].sort(),
      unmappedPermissionIds,
      ignored: dump.ignored,
    }
  })
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

function names(items: readonly string[]): string {
  const shown = items.slice(0, 5).join(', ')
  return items.length > 5 ? `${shown} and ${items.length - 5} more` : shown
}

/**
 * The one line `gatehouse importusers` prints.
 * @example
 * describeImport(report) // 'Imported 3 users and 2 groups (1 skipped: alice exists).'
 */
export function describeImport(report: ImportReport): string {
  const notes: string[] = []
  const { existingUsers: skipped } = report
  if (skipped.length > 0) {
    notes.push(`${skipped.length} skipped: ${names(skipped)} ${skipped.length === 1 ? 'exists' : 'exist'}`)
  }
  if (report.unusable.length > 0) {
    const list = report.unusable.map((u) => `${u.username} (${u.why})`)
    notes.push(`${report.unusable.length} without a usable password: ${names(list)}`)
  }
  if (report.renumbered.length > 0) {
    const list = report.renumbered.map((u) => `${u.username} ${u.from} → ${u.to}`)
    notes.push(`${report.renumbered.length} given a new id, theirs being taken: ${names(list)}`)
  }
  if (report.existingGroups.length > 0) {
    notes.push(`${plural(report.existingGroups.length, 'group')} existed already: ${names(report.existingGroups)}`)
  }
  if (report.unknownPermissions.length > 0) {
    const count = plural(report.unknownPermissions.length, 'permission')
    notes.push(`${count} not found here: ${names(report.unknownPermissions)}`)
  }
  if (report.unmappedPermissionIds > 0) {
    const count = plural(report.unmappedPermissionIds, 'permission id')
    notes.push(`${count} skipped: dump with --natural-foreign to map them`)
  }
  const ignored = [...report.ignored.values()].reduce((a, b) => a + b, 0)
  if (ignored > 0)
    notes.push(`${plural(ignored, 'record')} of other models ignored: ${names([...report.ignored.keys()])}`)
  const head = `Imported ${plural(report.users, 'user')} and ${plural(report.groupsCreated, 'group')}`
  return `${head}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}.`
}
