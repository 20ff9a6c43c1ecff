import { ACTIONS, AuthError, CATALOGUE, loadSubject, toPublicUser } from '@gatehouse/auth'
import * as z from 'zod'

import {
  checkLoginOrigin,
  clearJwtCookies,
  fromTrustedOrigin,
  refreshCookieOf,
  refreshFromCookie,
  sendsJwtCookies,
  setJwtCookies,
} from '../jwt-cookies.js'
import { endOAuthSignIn } from '../oauth-core/sign-out.js'
import { protectedProcedure, publicProcedure, throttled, tokenViewProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { email, password, token, username } from './schemas.js'
import { sessionRouter } from './session.js'
import { oauthAppsRouter } from './oauth-apps.js'
import { logoutAll, slidingRouter } from './sliding.js'
import { tokensRouter } from './tokens.js'

export const authRouter = router({
  register: publicProcedure
    .use(throttled('register'))
    .input(z.strictObject({ username, password, email: email.optional() }))
    .mutation(async ({ ctx, input }) => ({ user: await ctx.auth.register(input) })),

  /** `cookies: true` also sets the `access`, `refresh` and `csrftoken` cookies (see src/jwt-cookies.ts). */
  login: publicProcedure
    .input(z.strictObject({ username, password, cookies: z.boolean({ error: 'Must be a valid boolean.' }).optional() }))
    .mutation(async ({ ctx, input: { cookies, ...credentials } }) => {
      if (cookies) checkLoginOrigin(ctx)
      const result = await ctx.auth.login(credentials, ctx.meta)
      if (cookies) setJwtCookies(ctx, result, { login: true })
      return result
    }),

  /** Without `refresh` in the body, the `refresh` cookie (CSRF checked), answered with new cookies. */
  refresh: tokenViewProcedure
    .use(throttled('refresh'))
    .input(z.strictObject({ refresh: token.optional() }))
    .mutation(async ({ ctx, input }) => {
      if (input.refresh !== undefined) return ctx.auth.refresh(input.refresh, ctx.meta)
      const presented = refreshFromCookie(ctx)
      try {
        const pair = await ctx.auth.refresh(presented, ctx.meta)
        setJwtCookies(ctx, pair, { login: false, previousRefresh: presented })
        return pair
      } catch (error) {
        clearJwtCookies(ctx) // a refresh cookie that cannot refresh is dead
        throw error
      }
    }),

  /**
   * The seed's logout: 200 for every caller, JWT cookies cleared (that needs no CSRF token: it can
   * only log the browser out). A refresh token in the body is blacklisted (a bad one is its 401);
   * the `refresh` cookie's token is blacklisted too unless the request comes from a foreign
   * Origin, and a cookie that can no longer be blacklisted still logs out. Once a token is
   * blacklisted here, the browser's sign-in at the OAuth server ends too (oauth-core/sign-out.ts).
   */
  logout: publicProcedure.input(z.strictObject({ refresh: token.optional() })).mutation(async ({ ctx, input }) => {
    const cookieToken = refreshCookieOf(ctx)
    if (sendsJwtCookies(ctx)) clearJwtCookies(ctx)
    let ended = false
    if (input.refresh !== undefined) {
      await ctx.auth.logout(input.refresh, ctx.meta)
      ended = true
    } else if (cookieToken && fromTrustedOrigin(ctx)) {
      ended = await ctx.auth.logout(cookieToken, ctx.meta).then(
        () => true,
        (error: unknown) => {
          if (!(error instanceof AuthError)) throw error // an outage is still a 503
          return false
        },
      )
    }
    // Only a logout that ended a login ends the OAuth sign-in: not an empty or a forged one.
    if (ended) await endOAuthSignIn(ctx)
    return { detail: 'Successfully logged out.' as const }
  }),

  /** Ends every login of the caller at once (see routers/sliding.ts). */
  logoutAll,

  verify: tokenViewProcedure.input(z.strictObject({ token })).mutation(async ({ ctx, input }) => {
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

  /** simplejwt's sliding tokens: one JWT, refreshed in place. */
  sliding: slidingRouter,

  /** DRF's SessionAuthentication: the `sessionid` cookie, with CSRF checks (see session.ts). */
  session: sessionRouter,

  /** The apps the caller authorised through the OAuth server, and revoking one (see oauth-apps.ts). */
  apps: oauthAppsRouter,
})
