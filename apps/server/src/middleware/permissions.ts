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

interface Refusal {
  user: AuthUser | null
  path: string
  permission: Permission
  /** The object an object-level check refused. */
  objectId?: number | string | undefined
}

async function refuse(ctx: Context, refusal: Refusal): Promise<never> {
  const { user, permission } = refusal
  // DRF: an anonymous caller is told to authenticate (401); a known one is forbidden (403).
  if (user === null) throw new AuthError('NOT_AUTHENTICATED')
  const error = new AuthError('NOT_PERMITTED', permission.message ? { message: permission.message } : {})
  const detail = { path: refusal.path, permission: permission.name, message: error.message, objectId: refusal.objectId }
  await ctx.auth.audit({ event: 'permission.denied', userId: user.id, username: user.username, ...ctx.meta, detail })
  throw error
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
      if (refusal) await refuse(opts.ctx, { user: pctx.user, path: opts.path, permission: refusal })
    }
    /** Returns the object when the caller may act on it; NOT_FOUND when it is missing. */
    async function authorize<TObject extends AccessObject>(object: TObject | undefined | null): Promise<TObject> {
      if (!object) throw new AuthError('NOT_FOUND')
      const checked = pctx ?? (await permissionContext(opts.ctx, opts))
      const refusal = await firstObjectRefusal(permissions, checked, object)
      if (refusal) {
        await refuse(opts.ctx, { user: checked.user, path: opts.path, permission: refusal, objectId: object.id })
      }
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
    if (!(await permission.hasPermission(pctx))) {
      await refuse(opts.ctx, { user: pctx.user, path: opts.path, permission })
    }
  }
  return opts.next()
})
