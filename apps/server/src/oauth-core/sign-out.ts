/**
 * Signing out of Gatehouse also ends the OAuth server's sign-in in that browser, as Django's
 * logout ends the session django-oauth-toolkit's authorization page signs in with. The OAuth
 * server keeps a sign-in of its own (oidc-provider's `Session` row in `oauth_payloads`, named by
 * the `oauth_session` cookie), which a Gatehouse logout would otherwise leave behind: the next app
 * to ask would get a code without the password. That cookie has `Path=/`, so the browser sends it
 * with its logout; the logout deletes the session it names and clears it.
 *
 * Only that browser's: a logout from another device (no cookie) ends no one else's sign-in here,
 * as Django's logout ends only its own session (`auth.logoutAll` and a password change end them
 * all). Only after a logout that ended a login of ours: a forged or failed logout changes nothing.
 * The session id is the cookie's value (stored as its digest); holding it is what signs the
 * browser in, so deleting the session it names needs no other proof.
 */
import { oauthPayloadId } from '@gatehouse/auth'

import type { Context } from '../context.js'
import { OAUTH_COOKIES } from './settings.js'

/** `oauth_session` and the signature beside it, as the provider sets them. */
const SESSION_COOKIES = [OAUTH_COOKIES.session, `${OAUTH_COOKIES.session}.sig`]

export async function endOAuthSignIn(ctx: Context): Promise<void> {
  const http = ctx.http
  const sessionId = http?.request.cookies?.[OAUTH_COOKIES.session]
  if (!http || !sessionId) return
  await ctx.auth.db
    .deleteFrom('oauth_payloads')
    .where('model', '=', 'Session')
    .where('id', '=', oauthPayloadId('Session', sessionId)) // stored as its digest (oauth/adapter.ts)
    .execute()
  for (const name of SESSION_COOKIES) {
    http.setCookie({ name, value: '', maxAge: 0, path: '/', httpOnly: true, sameSite: 'Lax' })
  }
}
