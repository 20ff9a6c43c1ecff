/**
 * The OAuth 2 / OpenID Connect authorization server at /oauth, over HTTP only: the authorization
 * code grant end to end (the login and consent pages driven like a browser), and refresh tokens
 * with rotation and reuse detection.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'

import {
  authorize,
  authorizeUrl,
  Browser,
  csrfOf,
  decodeJwt,
  FORM,
  formAction,
  formPost,
  REDIRECT,
  tokenRequest,
} from './helpers/oauth.js'
import { providerTestbed } from './helpers/oauth-testbed.js'

describe(`${TEST_BACKEND}: OAuth authorization server over HTTP: authorization code and refresh`, () => {
  const t = providerTestbed()

  describe('authorization code with the login and consent pages', () => {
    it('signs in, asks for consent naming the client and scopes, and returns a code with the state', async () => {
      const browser = new Browser()
      const start = await browser.follow(
        authorizeUrl({
          base: t.base,
          clientId: t.web.clientId,
          redirectUri: REDIRECT,
          scope: 'openid profile email read',
        }),
        t.base,
      )
      expect(start.status).toBe(200)
      expect(start.url).toMatch(new RegExp(`^${t.base}/oauth/interaction/[\\w-]+$`))
      expect(start.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const csp = start.headers.get('content-security-policy') ?? ''
      expect(csp).toContain("default-src 'none'")
      expect(csp).not.toContain('script-src')
      expect(start.text).not.toMatch(/<script/i)
      expect(start.text).toContain('Web &#60;App&#62;') // the client's name, escaped
      const login = await browser.follow(`${t.base}${formAction(start.text, 'login')}`, t.base, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: new URLSearchParams({
          csrf: csrfOf(start.text),
          username: t.alice.username,
          password: t.alice.password,
        }).toString(),
      })
      expect(login.status).toBe(200)
      expect(login.text).toContain('Authorise access')
      for (const scope of ['openid', 'profile', 'email', 'read']) expect(login.text).toContain(`data-scope="${scope}"`)
      const done = await browser.follow(`${t.base}${formAction(login.text, 'confirm')}`, t.base, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: new URLSearchParams({ csrf: csrfOf(login.text) }).toString(),
      })
      const location = new URL(done.location ?? '')
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT)
      expect(location.searchParams.get('state')).toBe('st4te')
      expect(location.searchParams.get('iss')).toBe(t.issuer)
      expect(location.searchParams.get('code')).toEqual(expect.any(String))
    })

    it('exchanges the code for an access token, a refresh token and an ID token; userinfo answers', async () => {
      const { code, verifier } = await t.codeFor({ scope: 'openid profile email read' })
      const res = await t.exchange({ code, code_verifier: verifier }, t.webAuth())
      expect(res.status).toBe(200)
      expect(res.body).toEqual({
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        id_token: expect.any(String),
        expires_in: 3600,
        // The access token is for our API: it carries the API scopes; the OIDC ones are in the ID token's claims.
        scope: 'read',
        token_type: 'Bearer',
      })
      const keys = await t.jwks()
      const access = await jwtVerify(res.body.access_token as string, keys, {
        issuer: t.issuer,
        audience: 'urn:gatehouse:api',
        typ: 'at+jwt',
      })
      expect(access.payload).toMatchObject({ sub: String(t.alice.id), client_id: t.web.clientId, scope: 'read' })
      const id = await jwtVerify(res.body.id_token as string, keys, { issuer: t.issuer, audience: t.web.clientId })
      expect(id.payload).toMatchObject({
        sub: String(t.alice.id),
        preferred_username: 'alice',
        email: 'alice@example.com',
      })
      const userinfo = await fetch(`${t.issuer}/me`, {
        headers: { authorization: `Bearer ${res.body.access_token as string}` },
      })
      expect(userinfo.status).toBe(200)
      expect(await userinfo.json()).toEqual({
        sub: String(t.alice.id),
        preferred_username: 'alice',
        email: 'alice@example.com',
        email_verified: false,
      })
      const anonymous = await fetch(`${t.issuer}/me`)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm=".*", error="invalid_token"/)
    })

    it('remembers the grant: a second authorisation skips consent, even after signing in again', async () => {
      const { clientId } = await t.newWebClient()
      const browser = new Browser()
      const first = await t.codeFor({ clientId, scope: 'openid read', browser })
      expect(first.result.pages.some((p) => p.includes('Authorise access'))).toBe(true)
      const again = await t.codeFor({ clientId, scope: 'openid read', browser })
      expect(again.result.pages).toEqual([])
      expect(again.code).not.toBe('')
      const elsewhere = await t.codeFor({ clientId, scope: 'openid read' })
      expect(elsewhere.result.pages.length).toBe(1)
      expect(elsewhere.result.pages[0]).toContain('name="password"')
      // A scope not granted before is asked for.
      const more = await t.codeFor({ clientId, scope: 'openid read write', browser })
      expect(more.result.pages.some((p) => p.includes('data-scope="write"'))).toBe(true)
    })

    it('deny sends access_denied back to the client', async () => {
      const { clientId } = await t.newWebClient()
      const { params } = await authorize(new Browser(), {
        base: t.base,
        clientId,
        redirectUri: REDIRECT,
        scope: 'openid email',
        user: t.alice,
        decision: 'deny',
      })
      expect(params.get('error')).toBe('access_denied')
      expect(params.get('code')).toBeNull()
    })
  })

  describe('refresh tokens: rotation and reuse detection', () => {
    it('rotates on every use; a reused refresh token revokes the whole grant', async () => {
      const { code, verifier } = await t.codeFor({ scope: 'openid read' })
      const first = await t.exchange({ code, code_verifier: verifier }, t.webAuth())
      const refresh = (token: string) =>
        tokenRequest(t.base, {
          form: { grant_type: 'refresh_token', refresh_token: token },
          authorization: t.webAuth(),
        })
      const second = await refresh(first.body.refresh_token as string)
      expect(second.status).toBe(200)
      expect(second.body.refresh_token).not.toBe(first.body.refresh_token)
      expect(second.body.access_token).not.toBe(first.body.access_token)
      expect(decodeJwt(second.body.access_token as string).payload).toMatchObject({
        sub: String(t.alice.id),
        scope: 'read',
      })
      const replay = await refresh(first.body.refresh_token as string)
      expect(replay.status).toBe(400)
      expect(replay.body).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' })
      // The thief's replay ended the legitimate holder's tokens too (RFC 9700 §4.14.2).
      const next = await refresh(second.body.refresh_token as string)
      expect(next.status).toBe(400)
      const introspection = await t.introspect(second.body.access_token as string)
      expect(introspection.body).toEqual({ active: false })
    })

    it('revoking a refresh token (RFC 7009) ends its grant: the access tokens from it too', async () => {
      const { code, verifier } = await t.codeFor({ scope: 'openid read' })
      const tokens = await t.exchange({ code, code_verifier: verifier }, t.webAuth())
      const active = await t.introspect(tokens.body.refresh_token as string)
      expect(active.body).toMatchObject({
        active: true,
        client_id: t.web.clientId,
        sub: String(t.alice.id),
        scope: 'openid read',
      })
      const revoked = await formPost(`${t.issuer}/token/revocation`, {
        form: { token: tokens.body.refresh_token as string, token_type_hint: 'refresh_token' },
        authorization: t.webAuth(),
      })
      expect(revoked.status).toBe(200)
      expect((await t.introspect(tokens.body.refresh_token as string)).body).toEqual({ active: false })
      expect((await t.introspect(tokens.body.access_token as string)).body).toEqual({ active: false })
    })

    it('a deactivated user can no longer refresh', async () => {
      const bob = await t.server.createUser({ username: 'bob-refresh' })
      const result = await authorize(new Browser(), {
        base: t.base,
        clientId: t.web.clientId,
        redirectUri: REDIRECT,
        scope: 'openid read',
        user: bob,
      })
      const tokens = await t.exchange(
        { code: result.params.get('code') ?? '', code_verifier: result.verifier ?? '' },
        t.webAuth(),
      )
      expect(tokens.status).toBe(200)
      await t.server.db.updateTable('users').set({ is_active: false }).where('id', '=', bob.id).execute()
      await t.server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const refresh = await tokenRequest(t.base, {
        form: { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string },
        authorization: t.webAuth(),
      })
      expect(refresh.status).toBe(400)
      expect(refresh.body.error).toBe('invalid_grant')
    })
  })
})
