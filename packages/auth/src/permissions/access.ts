import type { Db } from '@gatehouse/db'

import type { AuthUser } from '../users/user.js'
import type { Action, Subject } from './decide.js'
import type { AccessLookup } from './permission.js'
import { findEffectiveCodenames, findObjectGrants } from '../store/permission.repository.js'
import { ACTIONS } from './decide.js'

function actionOfCodename(codename: string): Action | null {
  const action = codename.slice(0, codename.indexOf('_'))
  return (ACTIONS as readonly string[]).includes(action) ? (action as Action) : null
}

/**
 * The caller's grants, read from the database on first use and kept for the request. Read per
 * request, so a grant, a revocation or a group change applies to the user's very next call.
 */
export function createAccessLookup(db: Db, user: AuthUser | null): AccessLookup {
  let codenames: Promise<ReadonlySet<string>> | undefined
  return {
    permissions: () =>
      (codenames ??= user ? findEffectiveCodenames(db, user.id).then((c) => new Set(c)) : Promise.resolve(new Set())),
    async objectActions(resource, objectId) {
      if (!user) return []
      const grants = await findObjectGrants(db, user.id, { resource, objectId })
      return grants.flatMap((g) => actionOfCodename(g.codename) ?? [])
    },
  }
}

/** Everything `can()` needs about a user, as returned by auth.me. */
export async function loadSubject(db: Db, user: AuthUser): Promise<Subject> {
  const [permissions, grants] = await Promise.all([findEffectiveCodenames(db, user.id), findObjectGrants(db, user.id)])
  const objectPermissions: Record<string, Action[]> = {}
  for (const g of grants) {
    const action = actionOfCodename(g.codename)
    if (action) (objectPermissions[`${g.resource}:${g.object_id}`] ??= []).push(action)
  }
  return { userId: user.id, isSuperuser: user.isSuperuser, permissions, objectPermissions }
}

export const ANONYMOUS_SUBJECT: Subject = { userId: null, isSuperuser: false, permissions: [], objectPermissions: {} }
