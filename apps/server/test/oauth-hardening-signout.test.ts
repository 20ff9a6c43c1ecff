/**
 * Hardening of the OAuth server (issue 16, item 10), over HTTP: a sign-out of Gatehouse, by any
 * of its logouts, ends the OAuth server's sign-in in that browser; one from elsewhere, or a forged
 * one, does not.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'

import { login, mutation, obtainSliding } from './helpers/http.js'
import { authorize, authorizeUrl, Browser, REDIRECT } from './helpers/oauth.js'
import { oauthTestbed } from './helpers/oauth-testbed.js'

describe(`${TEST_BACKEND}: OAuth hardening: signing out`, () => {
  const t = oauthTestbed()

  describe("signing out of Gatehouse ends the OAuth server's sign-in in that browser", () => {
    const params = () => ({ base: t.base, clientId: t.web.clientId, redirectUri: REDIRECT, scope: 'openid read' })

    /** A browser signed in at /oauth that has authorised the app: its next authorization shows no page. */
    async function signedIn(user: { username: string; password: string }) {
      const browser = new Browser()
      expect((await authorize(browser, { ...params(), user })).params.get('code')).toBeTruthy()
      const again = await authorize(browser, params())
      expect([again.pages, Boolean(again.params.get('code'))]).toEqual([[], true])
      return browser
    }

    async function asksForPassword(browser: Browser): Promise<boolean> {
      const res = await browser.follow(authorizeUrl(params()), t.base)
      return res.status === 200 && res.text.includes('name="password"')
    }

    /** A tRPC mutation from the browser's own page: its cookies, its Origin, and its CSRF header unless told not. */
    // eslint-disable-next-line max-params -- reads like the call it makes: (browser, procedure, input, options)
    function call(browser: Browser, path: string, input: unknown, o: { csrf?: boolean } = {}) {
      const csrf = /(?:^|; )csrftoken=([^;]+)/.exec(browser.cookieHeader(`${t.base}/trpc`))?.[1]
      return browser.fetch(`${t.base}/trpc/${path}`, {
        method: 'POST',
        body: JSON.stringify(input),
        headers: {
          'content-type': 'application/json',
          origin: t.base,
          ...(o.csrf !== false && csrf ? { 'x-csrftoken': csrf } : {}),
        },
      })
    }

    const logouts = {
      /** Django's session login and logout (sessionid + csrftoken cookies). */
      'auth.session.logout': async (browser: Browser, user: { username: string; password: string }) => {
        const credentials = { username: user.username, password: user.password }
        expect((await call(browser, 'auth.session.login', credentials)).status).toBe(200)
        return call(browser, 'auth.session.logout', {})
      },
      /** The JWT cookies (auth.login {cookies: true}), logged out with the refresh cookie. */
      'auth.logout (cookies)': async (browser: Browser, user: { username: string; password: string }) => {
        const credentials = { username: user.username, password: user.password, cookies: true }
        expect((await call(browser, 'auth.login', credentials)).status).toBe(200)
        return call(browser, 'auth.logout', {})
      },
      /** A page holding its tokens in memory, logging out with the refresh token in the body. */
      'auth.logout (body)': async (browser: Browser, user: { username: string; password: string }) => {
        const { refresh } = await login(t.base, user)
        return call(browser, 'auth.logout', { refresh })
      },
      /** The REST twin, /api/logout/, is the same procedure. */
      'POST /api/logout/': async (browser: Browser, user: { username: string; password: string }) => {
        const { refresh } = await login(t.base, user)
        return browser.fetch(`${t.base}/api/logout/`, {
          method: 'POST',
          body: JSON.stringify({ refresh }),
          headers: { 'content-type': 'application/json', origin: t.base },
        })
      },
      'auth.sliding.logout': async (browser: Browser, user: { username: string; password: string }) => {
        return call(browser, 'auth.sliding.logout', { token: await obtainSliding(t.base, user) })
      },
    }

    for (const [via, logout] of Object.entries(logouts)) {
      it(`attack: after ${via} in the browser, the next authorization asks for the password again`, async () => {
        const user = await t.server.createUser()
        const browser = await signedIn(user)
        const res = await logout(browser, user)
        expect(res.status, res.text).toBe(200)
        const cleared = (name: string) =>
          `${name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax`
        expect(res.headers.getSetCookie()).toEqual(
          expect.arrayContaining([cleared('oauth_session'), cleared('oauth_session.sig')]),
        )
        expect(browser.cookieHeader(`${t.base}/oauth/auth`)).not.toMatch(/oauth_session=/)
        expect(await asksForPassword(browser)).toBe(true)
        // and the sign-in is gone from the server, not only from this cookie jar
        const sessions = await t.server.db
          .selectFrom('oauth_payloads')
          .select('id')
          .where('model', '=', 'Session')
          .where(sql<string>`payload->>'accountId'`, '=', String(user.id))
          .execute()
        expect(sessions).toEqual([])
      })
    }

    it('should leave the browser signed in when the logout comes from elsewhere, or is forged', async () => {
      const user = await t.server.createUser()
      const browser = await signedIn(user)
      // another device logs out: this browser's sign-in is not its to end (auth.logoutAll ends them all)
      const { refresh } = await login(t.base, user)
      expect((await mutation(t.base, 'auth.logout', { refresh })).status).toBe(200)
      // a forged session logout (no CSRF token) changes nothing
      const credentials = { username: user.username, password: user.password }
      expect((await call(browser, 'auth.session.login', credentials)).status).toBe(200)
      expect((await call(browser, 'auth.session.logout', {}, { csrf: false })).status).toBe(403)
      // and a logout that ends no login of ours proves nothing about who asked
      expect((await call(browser, 'auth.logout', { refresh: 'not-a-token' })).status).toBe(401)
      const again = await authorize(browser, params())
      expect([again.pages, Boolean(again.params.get('code'))]).toEqual([[], true])
    })
  })
})
