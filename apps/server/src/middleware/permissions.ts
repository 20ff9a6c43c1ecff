import type { AccessObject, AuthUser, Permission, PermissionContext } from '@gatehouse/auth'
import {
  actionOf,
  AllowAny,
  AuthError,
  firstObjectRefusal,
  firstRefusal,
  IsAdminUser,
  IsAuthenticated,
  IsAuthenticatedOrReadOnly,
} from '@gatehouse/auth'

import type { PermissionName } from '../config.js'
import type { Context } from '../context.js'
import { middleware } from '../trpc.js'

const NAMED: Record<PermissionName, Permission> = {
  AllowAny,
  IsAuthenticated,
  IsAdminUser,
  IsAuthenticatedOrReadOnly,
}

function refuse(user: AuthUser | null, permission: Permission): never {
  // DRF: an anonymous caller is told to authenticate (401); a known one is forbidden (403).
  if (user === null) throw new AuthError('NOT_AUTHENTICATED')
  throw new AuthError('NOT_PERMITTED', permission.message ? { message: permission.message } : {})
}

async function permissionContext(
  ctx: Context,
  opts: { type: PermissionContext['type']; path: string },
): Promise<PermissionContext> {
  return {
    user: await ctx.authenticate(),
    type: opts.type,
    path: opts.path,
    action: actionOf(opts.type, opts.path),
    access: await ctx.access(),
  }
}

/**
 * Runs permission objects in order, like DRF's `permission_classes`; the first refusal decides.
 * It also gives the procedure `ctx.authorize(object)`, which runs the same permissions'
 * object-level checks: the only way a procedure gets an object it may act on, so the check
 * happens where the object is loaded and cannot be forgotten by a later edit.
 *
 * @example
 * const staffOnly = publicProcedure.use(permitted(IsAdminUser))
 */
export function permitted(...permissions: readonly Permission[]) {
  const free = permissions.every((p) => p === AllowAny)
  return middleware(async function permitted(opts) {
    const pctx = free ? null : await permissionContext(opts.ctx, opts)
    if (pctx) {
      const refusal = await firstRefusal(permissions, pctx)
      if (refusal) refuse(pctx.user, refusal)
    }
    /** Returns the object when the caller may act on it; NOT_FOUND when it is missing. */
    async function authorize<TObject extends AccessObject>(object: TObject | undefined | null): Promise<TObject> {
      if (!object) throw new AuthError('NOT_FOUND')
      const checked = pctx ?? (await permissionContext(opts.ctx, opts))
      const refusal = await firstObjectRefusal(permissions, checked, object)
      if (refusal) refuse(checked.user, refusal)
      return object
    }
    return opts.next({ ctx: { authorize } })
  })
}

/**
 * The global default (DEFAULT_PERMISSION), read per request from the validated config: the same
 * check as `permitted`, with the permission chosen at request time.
 */
export const defaultPermission = middleware(async function defaultPermission(opts) {
  const permission = NAMED[opts.ctx.config.defaultPermission]
  if (permission !== AllowAny) {
    const pctx = await permissionContext(opts.ctx, opts)
    if (!(await permission.hasPermission(pctx))) refuse(pctx.user, permission)
  }
  return opts.next()
})
