/**
 * Security review of the OAuth server (issue 7): each attack found in review, as a test over HTTP.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { startTestServer } from '../src/testing.js'
import { login, mutation } from './helpers/http.js'
import {
  authorize,
  authorizeUrl,
  basic,
  Browser,
  csrfOf,
  FORM,
  formAction,
  pkce,
  REDIRECT,
  registerClient,
  tokenRequest,
} from './helpers/oauth.js'
import { oauthTestbed } from './helpers/oauth-testbed.js'

describe(`${TEST_BACKEND}: OAuth security review`, () => {
  const t = oauthTestbed({
    clients: {
      service: { name: 'Service', scopes: 'read write' },
      web: { name: 'Web', scopes: 'openid profile read' },
      spa: { name: 'SPA', scopes: 'openid read' },
    },
  })

  it('userinfo answers a client-credentials token with 401 invalid_token, not a 500', async () => {
    const cc = await tokenRequest(t.base, {
      form: { grant_type: 'client_credentials', scope: 'read' },
      authorization: t.serviceAuth(),
    })
    expect(cc.status).toBe(200)
    const res = await fetch(`${t.issuer}/me`, {
      headers: { authorization: `Bearer ${cc.body.access_token as string}` },
    })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: 'invalid_token', error_description: 'invalid token provided' })
  })

  it('a malformed interaction uid is a 404 page, not a 500', async () => {
    const res = await fetch(`${t.issuer}/interaction/%E0%A4%A`)
    expect(res.status).toBe(404)
    expect(await res.text()).not.toMatch(/URIError|at .*\.js/)
  })

  it('a code redeemed twice at once yields tokens at most once', async () => {
    const { code, verifier } = await t.codeFor({ scope: 'openid read' })
    const results = await Promise.all(
      Array.from({ length: 6 }, () => t.exchange({ code, code_verifier: verifier }, t.webAuth())),
    )
    const ok = results.filter((r) => r.status === 200)
    expect(ok.length).toBeLessThanOrEqual(1)
    for (const r of results.filter((x) => x.status !== 200)) expect(r.status).toBe(400)
  })

  it('a refresh token used twice at once is rotated at most once', async () => {
    const { code, verifier } = await t.codeFor({ scope: 'openid read' })
    const first = await t.exchange({ code, code_verifier: verifier }, t.webAuth())
    expect(first.status).toBe(200)
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        tokenRequest(t.base, {
          form: { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string },
          authorization: t.webAuth(),
        }),
      ),
    )
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1)
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r).toMatchObject({
        status: 400,
        body: { error: 'invalid_grant', error_description: 'grant request is invalid' },
      })
    }
  })

  it('a public client cannot authenticate with a made-up secret, nor use client_credentials', async () => {
    const secret = await tokenRequest(t.base, {
      form: { grant_type: 'client_credentials', scope: 'read' },
      authorization: basic(t.spa.clientId, 'anything'),
    })
    expect(secret.status).toBe(401)
    expect(secret.body.error).toBe('invalid_client')
    const none = await tokenRequest(t.base, { form: { grant_type: 'client_credentials', client_id: t.spa.clientId } })
    expect(none.status).toBe(400)
    expect(none.body.access_token).toBeUndefined()
    expect(none.body.error).toBe('invalid_request')
  })

  it('an authorization request for scopes beyond the client is refused before any sign-in', async () => {
    const { challenge } = pkce()
    const res = await new Browser().follow(
      authorizeUrl({
        base: t.base,
        clientId: t.spa.clientId,
        redirectUri: REDIRECT,
        scope: 'openid read write',
        challenge,
      }),
      t.base,
    )
    expect(res.location).toBeDefined()
    const params = new URL(res.location ?? '').searchParams
    expect(params.get('error')).toBe('invalid_scope')
  })

  it('a redirect_uri that differs only by a trailing slash or query is not a registered one', async () => {
    for (const redirectUri of [`${REDIRECT}/`, `${REDIRECT}?x=1`, REDIRECT.replace('https', 'http')]) {
      const res = await new Browser().fetch(
        authorizeUrl({ base: t.base, clientId: t.web.clientId, redirectUri, scope: 'openid' }),
      )
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
    }
  })

  it('the interaction cookies are HttpOnly and SameSite', async () => {
    const res = await new Browser().fetch(
      authorizeUrl({ base: t.base, clientId: t.web.clientId, redirectUri: REDIRECT, scope: 'openid' }),
    )
    const cookies = res.headers.getSetCookie()
    expect(cookies.length).toBeGreaterThan(0)
    for (const line of cookies) expect(line).toMatch(/httponly/i)
    for (const line of cookies) expect(line).toMatch(/samesite=lax/i)
  })

  it('logging out everywhere, a password change or deactivation ends the sign-in at the OAuth server too', async () => {
    // Otherwise a browser left signed in (a shared computer, a stolen cookie) keeps getting codes
    // for the user's apps after the user ended every login, as Django's sessions would not allow.
    const params = { base: t.base, clientId: t.web.clientId, redirectUri: REDIRECT, scope: 'openid read' }
    for (const end of ['auth.logoutAll', 'changepassword', 'deactivated'] as const) {
      const user = await t.server.createUser()
      const browser = new Browser()
      expect((await authorize(browser, { ...params, user })).params.get('code')).toBeTruthy()
      const remembered = await authorize(browser, params)
      expect([remembered.pages, Boolean(remembered.params.get('code'))]).toEqual([[], true])

      if (end === 'auth.logoutAll') {
        const { access } = await login(t.base, user)
        expect((await mutation(t.base, 'auth.logoutAll', undefined, access)).status).toBe(200)
      } else if (end === 'changepassword') {
        await t.server.auth.changePassword(user.username, 'An0ther-passphrase', { skipValidation: true })
      } else {
        await t.server.db.updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute()
      }
      const after = await browser.follow(authorizeUrl(params), t.base)
      expect([end, after.status, after.location]).toEqual([end, 200, undefined])
      expect(after.text).toContain('name="password"')
      // and an app asking silently (prompt=none) is told to send the user to sign in
      const silent = await browser.follow(authorizeUrl({ ...params, extra: { prompt: 'none' } }), t.base)
      expect(new URL(silent.location ?? '').searchParams.get('error')).toBe('login_required')
    }
  })

  it('only a resource server can introspect the token; another confidential client learns nothing', async () => {
    const { code, verifier } = await t.codeFor({ scope: 'openid read' })
    const tokens = await t.exchange({ code, code_verifier: verifier }, t.webAuth())
    const token = tokens.body.access_token as string
    const other = await t.introspect(token, t.serviceAuth())
    expect([other.status, other.body]).toEqual([200, { active: false }])
    const res = await t.introspect(token, t.apiAuth())
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ active: true, client_id: t.web.clientId, sub: String(t.alice.id) })
  })
})

describe(`${TEST_BACKEND}: OAuth cookies under COOKIE_SECURE=true`, () => {
  it('are all Secure, the session cookie included, though TLS ends at a proxy in front', async () => {
    await using server = await startTestServer({ COOKIE_SECURE: 'true' })
    const created = await registerClient(server.db, {
      name: 'Web',
      grants: ['authorization_code'],
      redirectUris: [REDIRECT],
      scopes: 'openid',
    })
    const user = await server.createUser({ username: 'bob' })
    const browser = new Browser()
    const lines: string[] = []
    const step = async (url: string, init?: { method: string; body: string; headers: Record<string, string> }) => {
      let res = await browser.fetch(url, init)
      lines.push(...res.headers.getSetCookie())
      while (res.status >= 300 && res.status < 400) {
        const next = new URL(res.headers.get('location') ?? '', server.url).href
        if (!next.startsWith(server.url)) return { ...res, location: next }
        res = await browser.fetch(next)
        lines.push(...res.headers.getSetCookie())
      }
      return { ...res, location: undefined }
    }
    const post = (html: string, action: string, form: Record<string, string>) =>
      step(`${server.url}${formAction(html, action)}`, {
        method: 'POST',
        body: new URLSearchParams({ csrf: csrfOf(html), ...form }).toString(),
        headers: { 'content-type': FORM },
      })
    const start = await step(
      authorizeUrl({ base: server.url, clientId: created.clientId, redirectUri: REDIRECT, scope: 'openid' }),
    )
    const consent = await post(start.text, 'login', { username: user.username, password: user.password })
    const done = await post(consent.text, 'confirm', {})
    expect(new URL(done.location ?? '').searchParams.get('code')).toBeTruthy()
    expect(lines.some((line) => line.startsWith('oauth_session='))).toBe(true)
    for (const line of lines) expect(line).toMatch(/;\s*secure/i)
  })
})

describe(`${TEST_BACKEND}: OAuth sign-in behind a proxy (NUM_PROXIES=1)`, () => {
  it('audits a failed sign-in under the address the proxy saw (the one its failure counter keys on), not the proxy’s', async () => {
    await using server = await startTestServer({ NUM_PROXIES: '1' })
    const created = await registerClient(server.db, {
      name: 'Web',
      grants: ['authorization_code'],
      redirectUris: [REDIRECT],
      scopes: 'openid',
    })
    const browser = new Browser()
    const page = await browser.follow(
      authorizeUrl({ base: server.url, clientId: created.clientId, redirectUri: REDIRECT, scope: 'openid' }),
      server.url,
    )
    const res = await browser.fetch(`${server.url}${formAction(page.text, 'login')}`, {
      method: 'POST',
      body: new URLSearchParams({ csrf: csrfOf(page.text), username: 'nobody', password: 'wrong password' }).toString(),
      // a made-up entry first, then what the proxy appended
      headers: { 'content-type': FORM, 'x-forwarded-for': '198.51.100.7, 203.0.113.60' },
    })
    expect(res.status).toBe(401)
    const rows = await server.db
      .selectFrom('audit_events')
      .select(['address', 'detail'])
      .where('event', '=', 'login.failed')
      .execute()
    expect(rows).toEqual([{ address: '203.0.113.60', detail: { via: 'oauth', why: 'unknown_user' } }])
  })
})
