import type { Permission } from '@gatehouse/auth'
import {
  AllowAny,
  AuthError,
  firstRefusal,
  HasGroup,
  IsAdminUser,
  IsAuthenticated,
  IsAuthenticatedOrReadOnly,
} from '@gatehouse/auth'

import type { PermissionName } from '../config.js'
import { middleware } from '../trpc.js'

const NAMED: Record<PermissionName, Permission> = {
  AllowAny,
  IsAuthenticated,
  IsAdminUser,
  IsAuthenticatedOrReadOnly,
}

function refuse(user: unknown, permission: Permission): never {
  // DRF: an anonymous caller is told to authenticate (401); a known one is forbidden (403).
  if (user === null) throw new AuthError('NOT_AUTHENTICATED')
  throw new AuthError('NOT_PERMITTED', permission.message ? { message: permission.message } : {})
}

/**
 * Runs permission objects in order, like DRF's `permission_classes`; the first refusal decides.
 * @example
 * const staffOnly = publicProcedure.use(permitted(IsAdminUser))
 */
export function permitted(...permissions: readonly Permission[]) {
  const free = permissions.every((p) => p === AllowAny)
  return middleware(async function permitted(opts) {
    if (free) return opts.next()
    const user = await opts.ctx.authenticate()
    const refusal = await firstRefusal(permissions, { user, type: opts.type, path: opts.path })
    if (refusal) refuse(user, refusal)
    return opts.next()
  })
}

/** The global default (DEFAULT_PERMISSION), read per request from the validated config. */
export const defaultPermission = middleware(async function defaultPermission(opts) {
  const permission = NAMED[opts.ctx.config.defaultPermission]
  if (permission === AllowAny) return opts.next()
  const user = await opts.ctx.authenticate()
  if (!(await permission.hasPermission({ user, type: opts.type, path: opts.path }))) refuse(user, permission)
  return opts.next()
})

/** IsAdminUser, after isAuthenticated has narrowed ctx.user. */
export const isStaff = middleware(async function isStaff(opts) {
  const user = await opts.ctx.authenticate()
  if (!user?.isStaff) refuse(user, IsAdminUser)
  return opts.next()
})

export function hasGroup(groups: readonly string[], opts: { superuserBypass?: boolean } = {}) {
  const permission = HasGroup(groups, opts)
  return middleware(async function hasGroup(o) {
    const user = await o.ctx.authenticate()
    if (!(await permission.hasPermission({ user, type: o.type, path: o.path }))) refuse(user, permission)
    return o.next()
  })
}
