/**
 * Permission objects, DRF-style: each answers "may this request go on?" (`hasPermission`) and,
 * once the procedure has loaded the object, "may it touch this object?" (`hasObjectPermission`,
 * allowed when absent). They know nothing of HTTP or tRPC; the server's `permitted(...)` middleware
 * runs them in order and the first refusal decides, with its own message: 401 for an anonymous
 * caller, 403 otherwise.
 */
import type { AuthUser } from '../users/user.js'
import type { AccessObject, Action } from './decide.js'
import { codename } from './decide.js'

/** Lazy lookups of the caller's grants; the server memoises them per request. */
export interface AccessLookup {
  /** Effective model permissions, own and through groups (`change_article`, …). */
  permissions(): Promise<ReadonlySet<string>>
  /** Actions granted to the caller (directly or through a group) on one object. */
  objectActions(resource: string, objectId: string): Promise<readonly Action[]>
}

export interface PermissionContext {
  user: AuthUser | null
  /** Queries are the safe methods (GET/HEAD/OPTIONS), mutations are writes. */
  type: 'query' | 'mutation' | 'subscription'
  path: string
  /** What the procedure does to its resource: query → view, `*.create` → add, `*.update` → change, `*.delete` → delete. */
  action: Action
  access: AccessLookup
}

type MaybePromise<T> = T | Promise<T>

export interface Permission {
  readonly name: string
  hasPermission(ctx: PermissionContext): MaybePromise<boolean>
  hasObjectPermission?(ctx: PermissionContext, object: AccessObject): MaybePromise<boolean>
  /** Why the request was refused; DRF's default message when unset. */
  readonly message?: string
}

const NO_OBJECT_RULE = () => true

/**
 * @example
 * const IsOwnerOfProfile = definePermission({
 *   name: 'IsOwnerOfProfile',
 *   hasPermission: (ctx) => ctx.user !== null,
 *   hasObjectPermission: (ctx, profile) => profile['userId'] === ctx.user?.id,
 * })
 */
export function definePermission(permission: Permission): Permission {
  return permission
}

export const AllowAny = definePermission({ name: 'AllowAny', hasPermission: () => true })

export const IsAuthenticated = definePermission({ name: 'IsAuthenticated', hasPermission: (ctx) => ctx.user !== null })

export const IsAdminUser = definePermission({ name: 'IsAdminUser', hasPermission: (ctx) => ctx.user?.isStaff === true })

export const IsAuthenticatedOrReadOnly = definePermission({
  name: 'IsAuthenticatedOrReadOnly',
  hasPermission: (ctx) => ctx.type === 'query' || ctx.user !== null,
})

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
  return definePermission({
    name: `HasGroup(${groups.join(', ')})`,
    hasPermission: ({ user }) => {
      if (!user) return false
      if (bypass && user.isSuperuser) return true
      return user.groups.some((g) => groups.includes(g))
    },
  })
}

async function hasModelPermission(ctx: PermissionContext, resource: string): Promise<boolean> {
  if (!ctx.user) return false
  if (ctx.user.isSuperuser) return true
  return (await ctx.access.permissions()).has(codename(ctx.action, resource))
}

/**
 * DjangoModelPermissions: the caller holds `<action>_<resource>`. Unlike DRF, reading needs
 * `view_<resource>` too: nothing is readable by default.
 */
export function ModelPermissions(resource: string): Permission {
  return definePermission({ name: `ModelPermissions(${resource})`, hasPermission: (ctx) => hasModelPermission(ctx, resource) })
}

/** DjangoModelPermissionsOrAnonReadOnly: anonymous callers may read; everyone else as ModelPermissions. */
export function ModelPermissionsOrAnonReadOnly(resource: string): Permission {
  return definePermission({
    name: `ModelPermissionsOrAnonReadOnly(${resource})`,
    hasPermission: (ctx) => (ctx.user === null && ctx.type === 'query') || hasModelPermission(ctx, resource),
  })
}

/**
 * Per-object grants (django-guardian): the caller may act on an object when they hold the model
 * permission, or a grant on that very object. Unlike DRF's DjangoObjectPermissions, a per-object
 * grant alone is enough: the request-level check only asks for an authenticated caller.
 */
export function ObjectPermissions(resource: string): Permission {
  return definePermission({
    name: `ObjectPermissions(${resource})`,
    hasPermission: (ctx) => ctx.user !== null,
    hasObjectPermission: async (ctx, object) => {
      if (await hasModelPermission(ctx, resource)) return true
      if (!ctx.user) return false
      return (await ctx.access.objectActions(resource, String(object.id))).includes(ctx.action)
    },
  })
}

/** The object's `field` names the caller (the classic IsOwner). */
export function IsOwner(field: string): Permission {
  return definePermission({
    name: `IsOwner(${field})`,
    hasPermission: (ctx) => ctx.user !== null,
    hasObjectPermission: (ctx, object) => ctx.user !== null && object[field] === ctx.user.id,
  })
}

/** DRF's tutorial IsOwnerOrReadOnly: anyone may read, only the owner may write. */
export function IsOwnerOrReadOnly(field: string): Permission {
  return definePermission({
    name: `IsOwnerOrReadOnly(${field})`,
    hasPermission: () => true,
    hasObjectPermission: (ctx, object) => ctx.type === 'query' || (ctx.user !== null && object[field] === ctx.user.id),
  })
}

const objectRule = (p: Permission) => p.hasObjectPermission?.bind(p) ?? NO_OBJECT_RULE

/** All must allow, at both levels; stops at the first refusal. */
export function and(...permissions: readonly Permission[]): Permission {
  return definePermission({
    name: `and(${permissions.map((p) => p.name).join(', ')})`,
    async hasPermission(ctx) {
      for (const p of permissions) if (!(await p.hasPermission(ctx))) return false
      return true
    },
    async hasObjectPermission(ctx, object) {
      for (const p of permissions) if (!(await objectRule(p)(ctx, object))) return false
      return true
    },
  })
}

/**
 * Any may allow; stops at the first that does. At object level an operand counts only if it also
 * allowed the request (DRF 3.14's fix): `or(IsAdminUser, IsOwner('authorId'))` must not let a
 * non-owner through because IsAdminUser has no object rule.
 */
export function or(...permissions: readonly Permission[]): Permission {
  return definePermission({
    name: `or(${permissions.map((p) => p.name).join(', ')})`,
    async hasPermission(ctx) {
      for (const p of permissions) if (await p.hasPermission(ctx)) return true
      return false
    },
    async hasObjectPermission(ctx, object) {
      for (const p of permissions) {
        if ((await p.hasPermission(ctx)) && (await objectRule(p)(ctx, object))) return true
      }
      return false
    },
  })
}

export function not(permission: Permission): Permission {
  return definePermission({
    name: `not(${permission.name})`,
    hasPermission: async (ctx) => !(await permission.hasPermission(ctx)),
    hasObjectPermission: async (ctx, object) => !(await objectRule(permission)(ctx, object)),
  })
}

/** The first permission of the list that refuses the request, or null when all allow. */
export async function firstRefusal(
  permissions: readonly Permission[],
  ctx: PermissionContext,
): Promise<Permission | null> {
  for (const p of permissions) if (!(await p.hasPermission(ctx))) return p
  return null
}

/** The first permission of the list that refuses the object, or null when all allow. */
export async function firstObjectRefusal(
  permissions: readonly Permission[],
  ctx: PermissionContext,
  object: AccessObject,
): Promise<Permission | null> {
  for (const p of permissions) if (!(await objectRule(p)(ctx, object))) return p
  return null
}

/** The action a procedure performs, from its kind and the last segment of its path. */
export function actionOf(type: PermissionContext['type'], path: string): Action {
  if (type === 'query') return 'view'
  const verb = path.slice(path.lastIndexOf('.') + 1)
  if (verb === 'create' || verb === 'add' || verb === 'register') return 'add'
  if (verb === 'delete' || verb === 'remove') return 'delete'
  return 'change'
}
