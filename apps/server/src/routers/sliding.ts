/**
 * auth.sliding.*: simplejwt's sliding tokens, one JWT that authenticates as `Bearer` and is
 * refreshed in place until its `refresh_exp`; and auth.logoutAll, which ends every login of the
 * caller at once through their token epoch.
 */
import * as z from 'zod'

import { endOAuthSignIn } from '../oauth-core/sign-out.js'
import { protectedProcedure, throttled, tokenViewProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { password, token, username } from './schemas.js'

export const slidingRouter = router({
  /** simplejwt's TokenObtainSlidingView; the password is checked exactly as auth.login checks it. */
  obtain: tokenViewProcedure
    .input(z.strictObject({ username, password }))
    .mutation(({ ctx, input }) => ctx.auth.obtainSlidingToken(input, ctx.meta)),

  /** simplejwt's TokenRefreshSlidingView: before `exp` (TOKEN_EXPIRED) and `refresh_exp` (TOKEN_REFRESH_EXPIRED). */
  refresh: tokenViewProcedure
    .use(throttled('refresh'))
    .input(z.strictObject({ token }))
    .mutation(({ ctx, input }) => ctx.auth.refreshSlidingToken(input.token, ctx.meta)),

  /**
   * Blacklists the token: it and every refresh of it stop working. Accepted past `exp`, until
   * `refresh_exp`. The browser's sign-in at the OAuth server ends too (oauth-core/sign-out.ts).
   */
  logout: tokenViewProcedure.input(z.strictObject({ token })).mutation(async ({ ctx, input }) => {
    await ctx.auth.logoutSlidingToken(input.token, ctx.meta)
    await endOAuthSignIn(ctx)
    return { detail: 'Successfully logged out.' as const }
  }),
})

/**
 * auth.logoutAll: the caller's access and sliding tokens stop at their next request, their
 * refresh and sliding tokens are blacklisted and their sessions deleted. API keys stay (revoke
 * them with auth.tokens.revokeAll).
 */
export const logoutAll = protectedProcedure.mutation(async ({ ctx }) => {
  await ctx.auth.logoutAll(ctx.user, ctx.meta)
  return { detail: 'Logged out everywhere.' as const }
})
