import { ACTIONS, CATALOGUE, loadSubject, toPublicUser } from '@gatehouse/auth'
import * as z from 'zod'

import { protectedProcedure, publicProcedure, throttled } from '../procedures.js'
import { router } from '../trpc.js'
import { email, password, token, username } from './schemas.js'
import { tokensRouter } from './tokens.js'

export const authRouter = router({
  register: publicProcedure
    .use(throttled('register'))
    .input(z.strictObject({ username, password, email: email.optional() }))
    .mutation(async ({ ctx, input }) => ({ user: await ctx.auth.register(input) })),

  login: publicProcedure
    .input(z.strictObject({ username, password }))
    .mutation(({ ctx, input }) => ctx.auth.login(input, ctx.meta)),

  refresh: publicProcedure
    .use(throttled('refresh'))
    .input(z.strictObject({ refresh: token }))
    .mutation(({ ctx, input }) => ctx.auth.refresh(input.refresh)),

  logout: publicProcedure.input(z.strictObject({ refresh: token })).mutation(async ({ ctx, input }) => {
    await ctx.auth.logout(input.refresh)
    return { detail: 'Successfully logged out.' as const }
  }),

  verify: publicProcedure.input(z.strictObject({ token })).mutation(async ({ ctx, input }) => {
    const verified = await ctx.auth.verify(input.token)
    return { valid: true as const, tokenType: verified.tokenType, exp: Math.floor(verified.expiresAt.getTime() / 1000) }
  }),

  /** The caller, and the grants the SDK's `can()` needs to decide as the server would. */
  me: protectedProcedure.query(async ({ ctx }) => {
    const subject = await loadSubject(ctx.auth.db, ctx.user)
    return {
      user: toPublicUser(ctx.user),
      permissions: subject.permissions,
      objectPermissions: subject.objectPermissions,
    }
  }),

  /** The resources, actions and rules that `can()` applies, shared with every client. */
  catalogue: publicProcedure.query(() => ({ actions: ACTIONS, resources: CATALOGUE })),

  /** Opaque API keys for `Authorization: Token <key>`. */
  tokens: tokensRouter,
})
