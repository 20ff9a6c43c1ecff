/**
 * Users, groups and grants, guarded by model permissions on the auth resources themselves
 * (`view_user`, `change_user`, `add_group`, `change_permission`, …); superusers hold them all.
 * Every write also runs under the delegation rule (packages/auth/src/permissions/delegation.ts):
 * not yourself, superusers only by superusers, give only what you hold.
 */
import { actorOf, admin, AuthError, DELEGATION_RULE_NAME, IsAuthenticated, ModelPermissions } from '@gatehouse/auth'
import * as z from 'zod'

import { permitted, publicProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { auditRouter } from './audit.js'
import { oauthClientsRouter } from './oauth-clients.js'
import { email, field, prohibitNull, rowId, username } from './schemas.js'

const on = (resource: 'user' | 'group' | 'permission') =>
  publicProcedure.use(permitted(IsAuthenticated, ModelPermissions(resource)))

/**
 * A write on users, groups or grants: the caller becomes `ctx.actor` (with the effective
 * permissions the model-permission check already loaded), which each admin operation hands to the
 * delegation rule. Its refusals are audited as the permission classes' are.
 */
const write = (resource: 'user' | 'group' | 'permission') =>
  on(resource).use(async function asActor(opts) {
    const user = await opts.ctx.authenticate()
    if (!user) throw new AuthError('NOT_AUTHENTICATED') // IsAuthenticated has refused already
    const result = await opts.next({ ctx: { actor: await actorOf(user, await opts.ctx.access()) } })
    const cause = result.ok ? undefined : result.error.cause
    if (cause instanceof AuthError && cause.code === 'NOT_PERMITTED') {
      const detail = { path: opts.path, permission: DELEGATION_RULE_NAME, message: cause.message }
      await opts.ctx.auth.audit({
        event: 'permission.denied',
        userId: user.id,
        username: user.username,
        ...opts.ctx.meta,
        detail,
      })
    }
    return result
  })

const id = rowId
const groupName = field({ max: 150, trim: true })
const codename = field({ max: 100 })
const target = z.union([z.strictObject({ username, codename }), z.strictObject({ group: groupName, codename })], {
  error: 'Give either {username, codename} or {group, codename}.',
})

export const adminRouter = router({
  users: router({
    list: on('user')
      .input(
        z
          .strictObject({
            search: prohibitNull(z.string().max(150)).optional(),
            cursor: id.optional(),
            limit: z.number().int().min(1).max(100).optional(),
          })
          .optional(),
      )
      .query(({ ctx, input }) =>
        admin.listUsers(ctx.auth.db, { search: input?.search, cursor: input?.cursor, limit: input?.limit ?? 50 }),
      ),
    get: on('user')
      .input(z.strictObject({ id }))
      .query(async ({ ctx, input }) => ({ user: await admin.getAdminUser(ctx.auth.db, input.id) })),
    update: write('user')
      .input(
        z.strictObject({
          id,
          email: email.optional(),
          isStaff: z.boolean().optional(),
          isSuperuser: z.boolean().optional(),
        }),
      )
      .mutation(async ({ ctx, input }) => {
        const { id: userId, ...changes } = input
        return { user: await admin.updateUserFlags(ctx.auth.db, userId, { ...changes, actor: ctx.actor }) }
      }),
    activate: write('user')
      .input(z.strictObject({ id }))
      .mutation(async ({ ctx, input }) => ({
        user: await admin.setUserActive(ctx.auth.db, input.id, { active: true, actor: ctx.actor }),
      })),
    deactivate: write('user')
      .input(z.strictObject({ id }))
      .mutation(async ({ ctx, input }) => ({
        user: await admin.setUserActive(ctx.auth.db, input.id, { active: false, actor: ctx.actor }),
      })),
    setGroups: write('user')
      .input(z.strictObject({ id, groups: z.array(groupName).max(100) }))
      .mutation(async ({ ctx, input }) => ({
        user: await admin.setUserGroups(ctx.auth.db, input.id, { groups: input.groups, actor: ctx.actor }),
      })),
  }),
  groups: router({
    list: on('group').query(async ({ ctx }) => ({ items: await admin.listGroups(ctx.auth.db) })),
    create: on('group')
      .input(z.strictObject({ name: groupName }))
      .mutation(async ({ ctx, input }) => {
        const { group, created } = await ctx.auth.createGroup(input.name)
        return { group: { id: group.id, name: group.name }, created }
      }),
    delete: write('group')
      .input(z.strictObject({ name: groupName }))
      .mutation(async ({ ctx, input }) => {
        await admin.deleteGroup(ctx.auth.db, input.name, { actor: ctx.actor })
        return { detail: 'Deleted.' as const }
      }),
  }),
  permissions: router({
    list: on('permission').query(async ({ ctx }) => ({ items: await admin.listPermissions(ctx.auth.db) })),
    grant: write('permission')
      .input(target)
      .mutation(async ({ ctx, input }) => ({
        changed: await admin.grantPermission(ctx.auth.db, { ...input, actor: ctx.actor }),
      })),
    revoke: write('permission')
      .input(target)
      .mutation(async ({ ctx, input }) => ({
        changed: await admin.revokePermission(ctx.auth.db, { ...input, actor: ctx.actor }),
      })),
  }),
  audit: auditRouter,
  oauthClients: oauthClientsRouter,
})
