import { toPublicUser } from '@gatehouse/auth'
import * as z from 'zod'

import { protectedProcedure, publicProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { email, password, token, username } from './schemas.js'

export const authRouter = router({
  register: publicProcedure
    .input(z.strictObject({ username, password, email: email.optional() }))
    .mutation(async ({ ctx, input }) => ({ user: await ctx.auth.register(input) })),

  login: publicProcedure
    .input(z.strictObject({ username, password }))
    .mutation(({ ctx, input }) => ctx.auth.login(input)),

  refresh: publicProcedure
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

  me: protectedProcedure.query(({ ctx }) => ({ user: toPublicUser(ctx.user) })),
})
