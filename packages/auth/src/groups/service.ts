/**
 * Groups as the CLI manages them (createGroup, addToGroup, removeFromGroup). Membership is a
 * role: a change bumps the user's token epoch, so their access tokens stop and their refresh
 * tokens carry on with the new groups. The admin.* procedures' group operations are admin.ts's.
 */
import type { ServiceCore } from '../core.js'
import { AuthError } from '../errors.js'
import { bumpTokenEpoch } from '../store/epoch.repository.js'
import { deleteUserGroup, ensureGroup, findGroupByName, insertUserGroup } from '../store/group.repository.js'
import { requireUser } from '../users/require-user.js'

/**
 * The group operations, spread into the auth service.
 * @example
 * await auth.createGroup('editors')
 * await auth.addToGroup('alice', 'editors')
 */
export function groupService(core: ServiceCore) {
  const { db } = core

  return {
    async createGroup(name: string) {
      const trimmed = name.trim()
      if (!trimmed || trimmed.length > 150) {
        throw new AuthError('INVALID_INPUT', { fieldErrors: { name: ['Enter a group name of 1 to 150 characters.'] } })
      }
      return ensureGroup(db, trimmed)
    },

    async addToGroup(username: string, groupName: string) {
      const user = await requireUser(db, username)
      const group = await findGroupByName(db, groupName)
      if (!group) throw new AuthError('NOT_FOUND', { message: `No group named "${groupName}".` })
      const added = await insertUserGroup(db, user.id, group.id)
      // A role change: access tokens stop, refresh tokens carry on with the new epoch.
      if (added) await bumpTokenEpoch(db, user.id)
      return added
    },

    async removeFromGroup(username: string, groupName: string) {
      const user = await requireUser(db, username)
      const group = await findGroupByName(db, groupName)
      if (!group) throw new AuthError('NOT_FOUND', { message: `No group named "${groupName}".` })
      const removed = await deleteUserGroup(db, user.id, group.id)
      if (removed) await bumpTokenEpoch(db, user.id)
      return removed
    },
  }
}
