/**
 * Users, groups and grants, guarded by model permissions on the auth resources themselves
 * (`view_user`, `change_user`, `add_group`, `change_permission`, …); superusers hold them all.
 */
import { admin, AuthError, IsAuthenticated, ModelPermissions } from '@gatehouse/auth'
import * as z from 'zod'

import { permitted, publicProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { auditRouter } from './audit.js'
import { oauthClientsRouter } from './oauth-clients.js'
import { email, field, prohibitNull, rowId, username } from './schemas.js'

const on = (resource: 'user' | 'group' | 'permission') =>
  publicProcedure.use(permitted(IsAuthenticated, ModelPermissions(resource)))

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
    update: on('user')
      .input(
        z.strictObject({
          id,
          email: email.optional(),
          isStaff: z.boolean().optional(),
          isSuperuser: z.boolean().optional(),
        }),
      )
      .mutation(async ({ ctx, input }) => {
        const caller = await ctx.authenticate()
        // Only a superuser makes (or unmakes) superusers: change_user must not be a way up.
        if (input.isSuperuser !== undefined && !caller?.isSuperuser) {
          throw new AuthError('NOT_PERMITTED', { message: 'Only a superuser can change isSuperuser.' })
        }
        const { id: userId, ...changes } = input
        return { user: await admin.updateUserFlags(ctx.auth.db, userId, changes) }
      }),
    activate: on('user')
      .input(z.strictObject({ id }))
      .mutation(async ({ ctx, input }) => ({ user: await admin.setUserActive(ctx.auth.db, input.id, true) })),
    deactivate: on('user')
      .input(z.strictObject({ id }))
      .mutation(async ({ ctx, input }) => ({ user: await admin.setUserActive(ctx.auth.db, input.id, false) })),
    setGroups: on('user')
      .input(z.strictObject({ id, groups: z.array(groupName).max(100) }))
      .mutation(async ({ ctx, input }) => ({ user: await admin.setUserGroups(ctx.auth.db, input.id, input.groups) })),
  }),
  groups: router({
    list: on('group').query(async ({ ctx }) => ({ items: await admin.listGroups(ctx.auth.db) })),
    create: on('group')
      .input(z.strictObject({ name: groupName }))
      .mutation(async ({ ctx, input }) => {
        const { group, created } = await ctx.auth.createGroup(input.name)
        return { group: { id: group.id, name: group.name }, created }
      }),
    delete: on('group')
      .input(z.strictObject({ name: groupName }))
      .mutation(async ({ ctx, input }) => {
        await admin.deleteGroup(ctx.auth.db, input.name)
        return { detail: 'Deleted.' as const }
      }),
  }),
  permissions: router({
    list: on('permission').query(async ({ ctx }) => ({ items: await admin.listPermissions(ctx.auth.db) })),
    grant: on('permission')
      .input(target)
      .mutation(async ({ ctx, input }) => {
        const { codename: name, ...to } = input
        return { changed: await admin.grantPermission(ctx.auth.db, to, name) }
      }),
    revoke: on('permission')
      .input(target)
      .mutation(async ({ ctx, input }) => {
        const { codename: name, ...to } = input
        return { changed: await admin.revokePermission(ctx.auth.db, to, name) }
      }),
  }),
  audit: auditRouter,
  oauthClients: oauthClientsRouter,
})
