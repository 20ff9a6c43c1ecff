/**
 * The OAuth 2 / OpenID Connect authorization server at /oauth, over HTTP only: the attacks on the
 * authorization code grant (PKCE, redirect URIs, stolen and reused codes) and on its interaction
 * pages (wrong passwords, CSRF, a missing interaction cookie).
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import {
  authorizeUrl,
  basic,
  Browser,
  csrfOf,
  FORM,
  formAction,
  pkce,
  REDIRECT,
  tokenRequest,
} from './helpers/oauth.js'
import { providerTestbed } from './helpers/oauth-testbed.js'

describe(`${TEST_BACKEND}: OAuth authorization server over HTTP: attacks on the code grant`, () => {
  const t = providerTestbed()

  describe('PKCE and redirect URI attacks', () => {
    it('a public client gets tokens with S256 and no secret', async () => {
      const { verifier, challenge } = pkce()
      const { code } = await t.codeFor({ clientId: t.spa.clientId, challenge })
      const res = await t.exchange({ code, client_id: t.spa.clientId, code_verifier: verifier })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        token_type: 'Bearer',
      })
    })

    it('a public client without a code_challenge is sent back with invalid_request, before any sign-in', async () => {
      const browser = new Browser()
      const res = await browser.follow(
        authorizeUrl({
          base: t.base,
          clientId: t.spa.clientId,
          redirectUri: REDIRECT,
          scope: 'openid read',
          challenge: null,
        }),
        t.base,
      )
      const location = new URL(res.location ?? '')
      expect(location.searchParams.get('error')).toBe('invalid_request')
      expect(location.searchParams.get('error_description')).toBe(
        'Authorization Server policy requires PKCE to be used for this request',
      )
    })

    it('refuses the plain method', async () => {
      const browser = new Browser()
      const { verifier } = pkce()
      const url = authorizeUrl({
        base: t.base,
        clientId: t.spa.clientId,
        redirectUri: REDIRECT,
        scope: 'openid read',
        challenge: verifier,
        method: 'plain',
      })
      const res = await browser.follow(url, t.base)
      const location = new URL(res.location ?? '')
      expect(location.searchParams.get('error')).toBe('invalid_request')
      expect(location.searchParams.get('error_description')).toBe('not supported value of code_challenge_method')
      expect(location.searchParams.get('code')).toBeNull()
    })

    it('refuses a missing or wrong code_verifier', async () => {
      const { verifier, challenge } = pkce()
      const { code } = await t.codeFor({ clientId: t.spa.clientId, challenge })
      const missing = await t.exchange({ code, client_id: t.spa.clientId })
      expect(missing.status).toBe(400)
      expect(missing.body).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' })
      const wrong = await t.exchange({ code, client_id: t.spa.clientId, code_verifier: pkce().verifier })
      expect(wrong.status).toBe(400)
      expect(wrong.body).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' })
      expect(verifier).not.toBe('')
    })

    it('a confidential client that sent a challenge must send the verifier too', async () => {
      const { challenge } = pkce()
      const { code } = await t.codeFor({ challenge })
      const res = await t.exchange({ code }, t.webAuth())
      expect(res.status).toBe(400)
      expect(res.body.error).toBe('invalid_grant')
    })

    it('never redirects to an unregistered redirect_uri: an error page instead', async () => {
      const browser = new Browser()
      const res = await browser.fetch(
        authorizeUrl({
          base: t.base,
          clientId: t.web.clientId,
          redirectUri: 'https://evil.example/steal',
          scope: 'openid read',
        }),
      )
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
      expect(res.text).toContain('redirect_uri did not match any of the client&#39;s registered redirect_uris')
      expect(res.text).not.toMatch(/<script/i)
    })

    it('refuses a code presented with another redirect_uri than it was issued for', async () => {
      const { code, verifier } = await t.codeFor({})
      const res = await t.exchange(
        { code, redirect_uri: 'https://app.example.com/other', code_verifier: verifier },
        t.webAuth(),
      )
      expect(res.status).toBe(400)
      expect(res.body.error).toBe('invalid_grant')
    })

    it('a reused code is refused and revokes the tokens issued from it', async () => {
      const { code, verifier } = await t.codeFor({ scope: 'openid read' })
      const first = await t.exchange({ code, code_verifier: verifier }, t.webAuth())
      expect(first.status).toBe(200)
      expect((await t.introspect(first.body.access_token as string)).body.active).toBe(true)
      const second = await t.exchange({ code, code_verifier: verifier }, t.webAuth())
      expect(second.status).toBe(400)
      expect(second.body).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' })
      expect((await t.introspect(first.body.access_token as string)).body).toEqual({ active: false })
      expect((await t.introspect(first.body.refresh_token as string)).body).toEqual({ active: false })
      const refresh = await tokenRequest(t.base, {
        form: { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string },
        authorization: t.webAuth(),
      })
      expect(refresh.status).toBe(400)
      expect(refresh.body.error).toBe('invalid_grant')
    })

    it('refuses a code for another client, and a wrong client secret', async () => {
      const { code, verifier } = await t.codeFor({})
      const other = await t.newWebClient()
      const stolen = await t.exchange({ code, code_verifier: verifier }, basic(other.clientId, other.secret))
      expect(stolen.status).toBe(400)
      expect(stolen.body.error).toBe('invalid_grant')
      const second = await t.codeFor({})
      const wrong = await t.exchange(
        { code: second.code, code_verifier: second.verifier },
        basic(t.web.clientId, 'not-the-secret'),
      )
      expect(wrong.status).toBe(401)
      expect(wrong.body.error).toBe('invalid_client')
    })
  })

  describe('the interaction pages', () => {
    async function loginPage(browser: Browser) {
      const page = await browser.follow(
        authorizeUrl({ base: t.base, clientId: t.web.clientId, redirectUri: REDIRECT, scope: 'openid read' }),
        t.base,
      )
      expect(page.status).toBe(200)
      return page
    }

    function submit(browser: Browser, page: { text: string }, form: Record<string, string>) {
      return browser.fetch(`${t.base}${formAction(page.text, 'login')}`, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: new URLSearchParams(form).toString(),
      })
    }

    it('a wrong password shows the form again with a 401, and is audited as a failed login', async () => {
      const browser = new Browser()
      const page = await loginPage(browser)
      const res = await submit(browser, page, {
        csrf: csrfOf(page.text),
        username: t.alice.username,
        password: 'wrong password',
      })
      expect(res.status).toBe(401)
      expect(res.text).toContain('Invalid username or password.')
      expect(res.text).toContain('value="alice"')
      expect(res.text).not.toContain('wrong password')
      const events = await t.server.db
        .selectFrom('audit_events')
        .select(['event', 'detail'])
        .where('username', '=', 'alice')
        .where('event', '=', 'login.failed')
        .execute()
      expect(events.map((e) => e.detail)).toContainEqual({ via: 'oauth', why: 'wrong_password' })
    })

    it('an inactive user cannot sign in', async () => {
      const carol = await t.server.createUser({ username: 'carol-inactive' })
      await t.server.db.updateTable('users').set({ is_active: false }).where('id', '=', carol.id).execute()
      await t.server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const browser = new Browser()
      const page = await loginPage(browser)
      const res = await submit(browser, page, {
        csrf: csrfOf(page.text),
        username: carol.username,
        password: carol.password,
      })
      expect(res.status).toBe(401)
      expect(res.text).toContain('Invalid username or password.')
    })

    it('refuses a form without the CSRF token of its own interaction (403)', async () => {
      const browser = new Browser()
      const page = await loginPage(browser)
      const other = await loginPage(new Browser())
      const missing = await submit(browser, page, { username: t.alice.username, password: t.alice.password })
      expect(missing.status).toBe(403)
      expect(missing.text).toContain('csrf_failed')
      const foreign = await submit(browser, page, {
        csrf: csrfOf(other.text),
        username: t.alice.username,
        password: t.alice.password,
      })
      expect(foreign.status).toBe(403)
      const ok = await submit(browser, page, {
        csrf: csrfOf(page.text),
        username: t.alice.username,
        password: t.alice.password,
      })
      expect(ok.status).toBe(303)
    })

    it('refuses a form posted without the interaction cookie (another browser, a cross-site POST)', async () => {
      const page = await loginPage(new Browser())
      const res = await submit(new Browser(), page, {
        csrf: csrfOf(page.text),
        username: t.alice.username,
        password: t.alice.password,
      })
      expect(res.status).toBe(400)
      expect(res.text).toContain('start again from the application')
    })

    it('answers unknown interaction paths and methods without a stack trace', async () => {
      expect((await fetch(`${t.base}/oauth/interaction/abc/nope`, { method: 'POST' })).status).toBe(404)
      expect((await fetch(`${t.base}/oauth/interaction/abc/login`)).status).toBe(405)
      const none = await fetch(`${t.base}/oauth/interaction/abc`)
      expect(none.status).toBe(400)
      expect(await none.text()).not.toMatch(/at .*\.(js|ts):\d+/)
    })
  })
})
