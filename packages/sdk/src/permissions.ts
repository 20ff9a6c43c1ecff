/**
 * The server's access rules, for front ends: `can(subject, action, resource, object?)` answers
 * "may they?" the way the server decides it, to show or hide a button before anyone clicks it.
 *
 * The rules are not restated here. `internal/decide.ts` is a byte-identical copy of
 * `packages/auth/src/permissions/decide.ts`, made by `scripts/sync-decide.mjs` on every build and
 * checked by a test, so edit the original, never the copy.
 */
import type { Subject } from './internal/decide.js'
import type { GatehouseOutputs } from './router.js'

export { ACTIONS, CATALOGUE, can } from './internal/decide.js'
export type { AccessObject, Action, Resource, Subject } from './internal/decide.js'

/**
 * Nobody logged in: what `can()` is asked with before `auth.me()` has answered, or after logout.
 *
 * @example
 * ```ts
 * can(ANONYMOUS_SUBJECT, 'view', 'article', { id: 1, published: true }) // true
 * ```
 */
export const ANONYMOUS_SUBJECT: Subject = Object.freeze({
  userId: null,
  isSuperuser: false,
  permissions: Object.freeze([]),
  objectPermissions: Object.freeze({}),
})

/**
 * The subject `can()` needs, from what `auth.me` answered: for apps that keep it themselves.
 *
 * @example
 * ```ts
 * const subject = toSubject(await client.auth.me())
 * if (can(subject, 'change', 'article', article)) showEditButton()
 * ```
 */
export function toSubject(me: GatehouseOutputs['auth']['me']): Subject {
  return {
    userId: me.user.id,
    isSuperuser: me.user.isSuperuser,
    permissions: me.permissions,
    objectPermissions: me.objectPermissions,
  }
}
