/**
 * What `client.can()` decides for: the subject of the latest `auth.me` answer, kept in the client
 * so that showing or hiding a button costs no request. The rules themselves are the server's
 * (internal/decide.ts); this is only whose grants they are applied to.
 *
 * The subject is forgotten whenever the user may have changed (a login, a logout, a refused
 * refresh), and an `auth.me` answer that was already in flight then is dropped, so the client
 * never answers for the previous user with their grants.
 */
import type { AccessObject, Action, Resource, Subject } from '../permissions.js'
import type { GatehouseOutputs } from '../router.js'
import { isUnauthorized } from '../errors.js'
import { ANONYMOUS_SUBJECT, can, toSubject } from '../permissions.js'

/** Function-valued properties, not methods: the client hands them out on their own. */
export interface PermissionsCache {
  /** The user may have changed: answer for nobody until `auth.me` says who. */
  forget: () => void
  /** `auth.me`, whose answer becomes the subject; a 401 makes it anonymous. */
  me: () => Promise<GatehouseOutputs['auth']['me']>
  /** `can()` for the subject held now. */
  can: (action: Action, resource: Resource, object?: AccessObject) => boolean
  /** `auth.me`, resolving with the subject it leaves; anonymous, not a rejection, on a 401. */
  loadPermissions: () => Promise<Subject>
}

/**
 * @example
 * const permissions = createPermissionsCache(() => call('auth.me'))
 * await permissions.loadPermissions()
 * permissions.can('change', 'article', article)
 */
export function createPermissionsCache(askMe: () => Promise<unknown>): PermissionsCache {
  let subject: Subject = ANONYMOUS_SUBJECT
  // Moves on with every forget(), so an answer to an older question can tell it is stale.
  let identity = 0

  function forget() {
    identity += 1
    subject = ANONYMOUS_SUBJECT
  }

  async function me() {
    const asked = identity
    try {
      const answer = (await askMe()) as GatehouseOutputs['auth']['me']
      if (asked === identity) subject = toSubject(answer)
      return answer
    } catch (error) {
      if (asked === identity && isUnauthorized(error)) forget()
      throw error
    }
  }

  return {
    forget,
    me,
    can: (action, resource, object) => can(subject, action, resource, object),
    async loadPermissions() {
      try {
        await me()
      } catch (error) {
        if (!isUnauthorized(error)) throw error
      }
      return subject
    },
  }
}
