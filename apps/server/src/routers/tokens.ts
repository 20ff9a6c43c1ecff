/**
 * auth.tokens.*: opaque API keys for `Authorization: Token <key>` (DRF authtoken, with knox's
 * many named, expiring keys). The server keeps only their hashes, so lists show ids and names,
 * never keys: a named key is shown once, by `create`; the DRF key that `obtain` answers is derived
 * again on every call (@gatehouse/auth's tokens/drf-token.ts).
 */
import * as z from 'zod'

import { protectedProcedure, publicProcedure, throttled } from '../procedures.js'
import { router } from '../trpc.js'
import { email, field, password, username } from './schemas.js'

const expiresAt = z.iso
  .datetime({ offset: true, error: 'Enter a date and time in ISO 8601 format, such as 2027-01-31T12:00:00Z.' })
  .transform((value) => new Date(value))

export const tokensRouter = router({
  /**
   * DRF's obtain_auth_token, for username and password, checked like auth.login (same
   * brute-force protection): the user's one key, 40 hex, the same on every call until revoked.
   */
  obtain: publicProcedure
    .input(z.strictObject({ username, password }))
    .mutation(({ ctx, input }) => ctx.auth.obtainApiToken(input, ctx.meta)),

  /**
   * The seed's DRF `register` that answers with a token: auth.register (same validation, errors
   * and `register` throttle scope), then the new user's DRF key, as `obtain` answers it.
   */
  register: publicProcedure
    .use(throttled('register'))
    .input(z.strictObject({ username, password, email: email.optional() }))
    .mutation(({ ctx, input }) => ctx.auth.registerWithApiToken(input, ctx.meta)),

  create: protectedProcedure
    .input(z.strictObject({ name: field({ max: 64, trim: true }), expiresAt: expiresAt.optional() }))
    .mutation(({ ctx, input }) => ctx.auth.createApiToken(ctx.user.id, input, ctx.meta)),

  list: protectedProcedure.query(async ({ ctx }) => ({ items: await ctx.auth.listApiTokens(ctx.user.id) })),

  revoke: protectedProcedure.input(z.strictObject({ id: field({ max: 64 }) })).mutation(async ({ ctx, input }) => {
    await ctx.auth.revokeApiToken(ctx.user.id, input.id, ctx.meta)
    return { detail: 'Token revoked.' as const }
  }),

  revokeAll: protectedProcedure.mutation(async ({ ctx }) => ({
    detail: 'Tokens revoked.' as const,
    revoked: await ctx.auth.revokeAllApiTokens(ctx.user.id, ctx.meta),
  })),
})
