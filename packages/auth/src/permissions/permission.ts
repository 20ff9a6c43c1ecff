/**
 * Permission objects, DRF-style: each answers "may this request go on?". They know nothing of
 * HTTP or tRPC; the server's `permitted(...)` middleware runs them in order and the first one that
 * refuses decides, with its own message — 401 for an anonymous caller, 403 otherwise.
 */
import type { AuthUser } from '../users/user.js'

export interface PermissionContext {
  user: AuthUser | null
  /** Queries are the safe methods (GET/HEAD/OPTIONS), mutations are writes. */
  type: 'query' | 'mutation' | 'subscription'
  path: string
}

export interface Permission {
  readonly name: string
  hasPermission(ctx: PermissionContext): boolean | Promise<boolean>
  /** Why the request was refused; DRF's default message when unset. */
  readonly message?: string
}

/**
 * @example
 * const IsOwnerOfProfile = definePermission('IsOwnerOfProfile', (ctx) => ctx.user?.id === 1)
 */
export function definePermission(
  name: string,
  hasPermission: Permission['hasPermission'],
  message?: string,
): Permission {
  return message === undefined ? { name, hasPermission } : { name, hasPermission, message }
}

export const AllowAny = definePermission('AllowAny', () => true)

export const IsAuthenticated = definePermission('IsAuthenticated', (ctx) => ctx.user !== null)

export const IsAdminUser = definePermission('IsAdminUser', (ctx) => ctx.user?.isStaff === true)

export const IsAuthenticatedOrReadOnly = definePermission(
  'IsAuthenticatedOrReadOnly',
  (ctx) => ctx.type === 'query' || ctx.user !== null,
)

export interface HasGroupOptions {
  /**
   * Whether a superuser passes without being a member. The tutorial's IsAdmin lets superusers
   * in; its IsManager and IsHR do not.
   * @default true
   */
  superuserBypass?: boolean
}

/** Member of any of the named groups (or a superuser, unless told otherwise). */
export function HasGroup(groups: readonly string[], opts: HasGroupOptions = {}): Permission {
  const bypass = opts.superuserBypass ?? true
  return definePermission(`HasGroup(${groups.join(', ')})`, ({ user }) => {
    if (!user) return false
    if (bypass && user.isSuperuser) return true
    return user.groups.some((g) => groups.includes(g))
  })
}

/** All must allow; stops at the first refusal. */
export function and(...permissions: readonly Permission[]): Permission {
  return definePermission(`and(${permissions.map((p) => p.name).join(', ')})`, async (ctx) => {
    for (const p of permissions) if (!(await p.hasPermission(ctx))) return false
    return true
  })
}

/** Any may allow; stops at the first that does. */
export function or(...permissions: readonly Permission[]): Permission {
  return definePermission(`or(${permissions.map((p) => p.name).join(', ')})`, async (ctx) => {
    for (const p of permissions) if (await p.hasPermission(ctx)) return true
    return false
  })
}

export function not(permission: Permission): Permission {
  return definePermission(`not(${permission.name})`, async (ctx) => !(await permission.hasPermission(ctx)))
}

/** The first permission of the list that refuses, or null when all allow. */
export async function firstRefusal(
  permissions: readonly Permission[],
  ctx: PermissionContext,
): Promise<Permission | null> {
  for (const p of permissions) if (!(await p.hasPermission(ctx))) return p
  return null
}
