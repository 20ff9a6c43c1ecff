/**
 * Who may change whom through the admin procedures: the rule that keeps `change_user` or
 * `change_permission` from being a way up. Django's admin lets any `change_user` holder edit any
 * user's groups and flags; Gatehouse is stricter:
 *
 * 1. Not yourself: nobody changes their own account, groups or grants, nor a group they belong to.
 * 2. Superusers by superusers: changing a superuser, a group a superuser belongs to, or anyone's
 *    isSuperuser needs a superuser.
 * 3. Give only what you hold: a group by being in it, a permission by holding it (directly or
 *    through a group), staff status by being staff. Superusers hold everything.
 *
 * A change to a group (its permissions, its deletion) acts on each of its members. Taking away
 * (removing from a group, revoking, deactivating) needs only the model permission the procedure
 * already checks. Reactivating an account gives back everything it holds. The CLI is the
 * operator and passes no actor: no rule binds it.
 */
import type { AuthUser } from '../users/user.js'
import type { AccessLookup } from './permission.js'
import { AuthError } from '../errors.js'

/** The administrator making a change, with their effective permissions (own and through groups). */
export interface Actor {
  id: number
  isStaff: boolean
  isSuperuser: boolean
  groups: readonly string[]
  permissions: ReadonlySet<string>
}

/** A user a change acts on, as read (and locked) with the write. */
export interface TargetUser {
  id: number
  isSuperuser: boolean
}

/** Whom a change acts on: one user, or a group and therefore each of its members. */
export type ChangeTarget = { user: TargetUser } | { group: string; members: readonly TargetUser[] }

/** What a change gives; taking away gives nothing. */
export interface Gift {
  /** Groups the target user joins. */
  groups?: readonly string[] | undefined
  /** Permissions the target (a user, or a group's members) gains. */
  permissions?: Iterable<string> | undefined
  /** Sets isStaff to true. */
  staff?: boolean | undefined
  /** Touches isSuperuser, either way. */
  superuser?: boolean | undefined
}

export const DELEGATION_RULE_NAME = 'AdminDelegation'

const refuse = (message: string) => new AuthError('NOT_PERMITTED', { message })

function checkTarget(actor: Actor, target: ChangeTarget): void {
  if ('user' in target) {
    if (target.user.id === actor.id) throw refuse('You cannot change your own account here.')
    if (target.user.isSuperuser && !actor.isSuperuser) throw refuse('Only a superuser can change a superuser.')
    return
  }
  if (target.members.some((m) => m.id === actor.id)) {
    throw refuse(`You cannot change the group "${target.group}": you belong to it.`)
  }
  if (!actor.isSuperuser && target.members.some((m) => m.isSuperuser)) {
    throw refuse(`Only a superuser can change the group "${target.group}": a superuser belongs to it.`)
  }
}

function checkGift(actor: Actor, gift: Gift): void {
  if (gift.superuser && !actor.isSuperuser) throw refuse('Only a superuser can change isSuperuser.')
  if (actor.isSuperuser) return
  if (gift.staff && !actor.isStaff) throw refuse('Only a staff user can give staff status.')
  const groups = (gift.groups ?? []).filter((g) => !actor.groups.includes(g))
  if (groups.length > 0) throw refuse(`You cannot add users to groups you do not belong to: ${groups.join(', ')}.`)
  const permissions = [...new Set(gift.permissions ?? [])].filter((p) => !actor.permissions.has(p)).sort()
  if (permissions.length > 0) throw refuse(`You cannot give permissions you do not hold: ${permissions.join(', ')}.`)
}

/**
 * Throws NOT_PERMITTED, naming the rule, unless `actor` may make this change; the admin
 * operations call it with the target read in the same transaction as their write.
 *
 * @example
 * authorizeAdminChange(actor, { user: { id: 7, isSuperuser: false } }, { groups: ['Editors'] })
 */
export function authorizeAdminChange(actor: Actor, target: ChangeTarget, gift: Gift = {}): void {
  checkTarget(actor, target)
  checkGift(actor, gift)
}

/** The actor for an authenticated caller, from the request's (memoised) effective permissions. */
export async function actorOf(user: AuthUser, access: AccessLookup): Promise<Actor> {
  return {
    id: user.id,
    isStaff: user.isStaff,
    isSuperuser: user.isSuperuser,
    groups: user.groups,
    permissions: await access.permissions(),
  }
}
