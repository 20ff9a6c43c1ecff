/**
 * auth.session.*: DRF's SessionAuthentication. A password login opens a server-side session and
 * sets `sessionid` (HttpOnly) and `csrftoken` (readable, for the `X-CSRFToken` header); the
 * `session` authenticator then accepts the cookie on every procedure, with CSRF checks on
 * mutations. Owners list their live sessions and revoke one, or all others.
 */
import {
  checkOrigin,
  clearSessionCookie,
  csrfCookie,
  enforceCsrf,
  generateCsrfToken,
  presentedSessionKey,
  sessionCookie,
} from '@gatehouse/auth'
import * as z from 'zod'

import type { Context } from '../context.js'
import { endOAuthSignIn } from '../oauth-core/sign-out.js'
import { protectedProcedure, publicProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { field, password, username } from './schemas.js'

/** The id of the session that authenticated this request; undefined for any other scheme. */
async function currentSessionId(ctx: Context): Promise<string | undefined> {
  const http = ctx.http
  if (!http || (await http.authenticatedBy()) !== 'session') return undefined
  return presentedSessionKey(http.request.cookies)?.split('.', 1)[0]
}

export const sessionRouter = router({
  /**
   * Django's login(): `{username, password}` → `{user}`, with the `sessionid` and `csrftoken`
   * cookies. Checked like auth.login (same brute-force protection); a session the request
   * already carries is ended, and a browser on an untrusted origin is refused (login CSRF).
   */
  login: publicProcedure.input(z.strictObject({ username, password })).mutation(async ({ ctx, input }) => {
    const http = ctx.http
    if (http) checkOrigin(http.request, ctx.config.csrfTrustedOrigins, { required: false })
    const replacing = presentedSessionKey(http?.request.cookies)
    const { key, user } = await ctx.auth.createSession(input, { ...ctx.meta, replacing })
    http?.setCookie(sessionCookie(key, ctx.auth.sessionAgeSeconds))
    http?.setCookie(csrfCookie(generateCsrfToken()))
    return { user }
  }),

  /**
   * Ends the presented session and clears `sessionid`, whatever the cookie held. A live session
   * is ended only by a request that passes the CSRF checks (403 otherwise, and nothing changes);
   * ending one ends the browser's sign-in at the OAuth server too (oauth-core/sign-out.ts).
   */
  logout: publicProcedure.mutation(async ({ ctx }) => {
    const http = ctx.http
    const key = presentedSessionKey(http?.request.cookies)
    if (http && key !== undefined) {
      const ended = await ctx.auth.endSession(key, ctx.meta, () =>
        enforceCsrf(http.request, ctx.config.csrfTrustedOrigins),
      )
      if (ended) await endOAuthSignIn(ctx)
    }
    http?.setCookie(clearSessionCookie())
    return { detail: 'Successfully logged out.' as const }
  }),

  /** The caller's live sessions; `current` marks the one authenticating this request. */
  list: protectedProcedure.query(async ({ ctx }) => {
    const current = await currentSessionId(ctx)
    const sessions = await ctx.auth.listSessions(ctx.user.id)
    return { items: sessions.map((session) => ({ ...session, current: session.id === current })) }
  }),

  /** Ends one of the caller's sessions; someone else's, or a missing one, is 404. */
  revoke: protectedProcedure.input(z.strictObject({ id: field({ max: 64 }) })).mutation(async ({ ctx, input }) => {
    const current = await currentSessionId(ctx)
    await ctx.auth.revokeSession(ctx.user.id, input.id, ctx.meta)
    if (input.id === current) ctx.http?.setCookie(clearSessionCookie())
    return { detail: 'Session revoked.' as const }
  }),

  /** Ends every session of the caller but the one making this request (all of them otherwise). */
  revokeOthers: protectedProcedure.mutation(async ({ ctx }) => ({
    detail: 'Sessions revoked.' as const,
    revoked: await ctx.auth.revokeOtherSessions(ctx.user.id, await currentSessionId(ctx), ctx.meta),
  })),
})
