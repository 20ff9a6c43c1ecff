/**
 * The OAuth 2 / OpenID Connect authorization server at /oauth, over HTTP only: discovery, each
 * grant end to end (the interaction pages driven like a browser), and the attacks on them.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'

import {
  authorize,
  authorizeUrl,
  basic,
  Browser,
  csrfOf,
  decodeJwt,
  FORM,
  formAction,
  formPost,
  pkce,
  REDIRECT,
  registerClient,
  tokenRequest,
} from './helpers/oauth.js'
import { oauthTestbed } from './helpers/oauth-testbed.js'

describe(`${TEST_BACKEND}: OAuth authorization server over HTTP`, () => {
  // A rotated key signs at once here (key activation has its own tests: keys.test.ts)
  const t = oauthTestbed({
    env: { KEY_ACTIVATION_DELAY: '0' },
    clients: {
      service: { name: 'Billing service', scopes: 'read write' },
      web: { name: 'Web <App>', scopes: 'openid profile email read write' },
      spa: { name: 'Single page app', scopes: 'openid profile read' },
    },
    email: 'alice@example.com',
  })

  describe('discovery (RFC 8414, OIDC Discovery)', () => {
    it('publishes the endpoints, S256 only, and our signing algorithm', async () => {
      const res = await fetch(`${t.base}/oauth/.well-known/openid-configuration`)
      expect(res.status).toBe(200)
      const doc = (await res.json()) as Record<string, unknown>
      expect(doc).toMatchObject({
        issuer: t.issuer,
        authorization_endpoint: `${t.issuer}/auth`,
        token_endpoint: `${t.issuer}/token`,
        userinfo_endpoint: `${t.issuer}/me`,
        jwks_uri: `${t.issuer}/jwks`,
        introspection_endpoint: `${t.issuer}/token/introspection`,
        revocation_endpoint: `${t.issuer}/token/revocation`,
        code_challenge_methods_supported: ['S256'],
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access', 'read', 'write'],
        id_token_signing_alg_values_supported: ['EdDSA'],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
      })
    })

    it("the provider's keys are ours: /oauth/jwks is /.well-known/jwks.json", async () => {
      const ours = (await (await fetch(`${t.base}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
      const its = (await (await fetch(`${t.issuer}/jwks`)).json()) as { keys: { kid: string }[] }
      expect(its.keys.map((k) => k.kid)).toEqual(ours.keys.map((k) => k.kid))
      expect(JSON.stringify(its)).not.toMatch(/"d":/)
    })

    it('answers an unknown /oauth path with a 404', async () => {
      const res = await fetch(`${t.base}/oauth/nope`)
      expect(res.status).toBe(404)
    })
  })

  describe('client credentials', () => {
    it('issues an at+jwt for our API, signed with the keys /.well-known/jwks.json publishes', async () => {
      const res = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read write' },
        authorization: t.serviceAuth(),
      })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({
        access_token: expect.any(String),
        expires_in: 3600,
        scope: 'read write',
        token_type: 'Bearer',
      })
      expect(res.headers.get('cache-control')).toBe('no-store')
      const { payload, protectedHeader } = await jwtVerify(res.body.access_token as string, await t.jwks(), {
        issuer: t.issuer,
        audience: 'urn:gatehouse:api',
        typ: 'at+jwt',
        algorithms: ['EdDSA'],
      })
      expect(protectedHeader.typ).toBe('at+jwt')
      expect(payload).toEqual({
        iss: t.issuer,
        sub: t.service.clientId,
        aud: 'urn:gatehouse:api',
        client_id: t.service.clientId,
        scope: 'read write',
        jti: expect.any(String),
        iat: expect.any(Number),
        exp: (payload.iat ?? 0) + 3600,
      })
    })

    it('accepts the secret in the form body too (client_secret_post)', async () => {
      const res = await tokenRequest(t.base, {
        form: {
          grant_type: 'client_credentials',
          scope: 'read',
          client_id: t.service.clientId,
          client_secret: t.service.secret,
        },
      })
      expect(res.status).toBe(200)
      expect(res.body.scope).toBe('read')
    })

    it('signs with a rotated key as soon as it is active, without a restart', async () => {
      const before = decodeJwt(await t.serviceToken()).header.kid
      const kid = await t.server.auth.rotateKeys()
      const after = await t.serviceToken()
      expect(decodeJwt(after).header.kid).toBe(kid)
      expect(kid).not.toBe(before)
      await jwtVerify(after, await t.jwks(), { issuer: t.issuer, audience: 'urn:gatehouse:api', typ: 'at+jwt' })
    })

    it('refuses a wrong secret, an unknown client and no authentication with 401 invalid_client', async () => {
      const wrong = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read' },
        authorization: basic(t.service.clientId, `${t.service.secret}x`),
      })
      expect(wrong.status).toBe(401)
      expect(wrong.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' })
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
      const unknown = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read' },
        authorization: basic('nobody', t.service.secret),
      })
      expect(unknown.status).toBe(401)
      expect(unknown.body.error).toBe('invalid_client')
      // The stored hash itself is not a password.
      const row = await t.server.db
        .selectFrom('oauth_clients')
        .select('secret_hash')
        .where('id', '=', t.service.clientId)
        .executeTakeFirstOrThrow()
      expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/)
      expect(row.secret_hash).not.toContain(t.service.secret)
      const hashAsSecret = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read' },
        authorization: basic(t.service.clientId, row.secret_hash ?? ''),
      })
      expect(hashAsSecret.status).toBe(401)
      const none = await tokenRequest(t.base, { form: { grant_type: 'client_credentials', scope: 'read' } })
      expect(none.status).toBe(400)
      expect(none.body.error).toBe('invalid_request')
    })

    it('refuses scopes the client was not registered with, unknown ones too, and grants it was not allowed', async () => {
      const reader = await registerClient(t.server.db, {
        name: 'Reader',
        grants: ['client_credentials'],
        scopes: 'read',
      })
      const scope = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read write' },
        authorization: basic(reader.clientId, reader.secret),
      })
      expect(scope.status).toBe(400)
      expect(scope.body).toEqual({
        error: 'invalid_scope',
        error_description: 'requested scope is not allowed',
        scope: 'write',
      })
      // An unknown scope is not given to any client: refused too, never dropped in silence (DOT's validate_scopes).
      const unknown = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read admin' },
        authorization: t.serviceAuth(),
      })
      expect(unknown.status).toBe(400)
      expect(unknown.body).toEqual({
        error: 'invalid_scope',
        error_description: 'requested scope is not allowed',
        scope: 'admin',
      })
      const grant = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read' },
        authorization: t.webAuth(),
      })
      expect(grant.status).toBe(400)
      expect(grant.body).toEqual({
        error: 'invalid_request',
        error_description: 'requested grant type is not allowed for this client',
      })
    })
  })

  describe('introspection (RFC 7662) and revocation (RFC 7009)', () => {
    it('reports an active JWT access token, then inactive once revoked', async () => {
      const token = await t.serviceToken('read')
      const active = await t.introspect(token)
      expect(active.status).toBe(200)
      const { payload } = decodeJwt(token)
      expect(active.body).toEqual({
        active: true,
        client_id: t.service.clientId,
        exp: payload.exp,
        iat: payload.iat,
        iss: t.issuer,
        aud: 'urn:gatehouse:api',
        scope: 'read',
        token_type: 'Bearer',
      })
      const revoked = await formPost(`${t.issuer}/token/revocation`, {
        form: { token, token_type_hint: 'access_token' },
        authorization: t.serviceAuth(),
      })
      expect(revoked.status).toBe(200)
      expect(revoked.body).toBe('')
      const after = await t.introspect(token)
      expect(after.body).toEqual({ active: false })
      // Revoking again, or revoking garbage, is still a 200 (RFC 7009 §2.2).
      const again = await formPost(`${t.issuer}/token/revocation`, { form: { token }, authorization: t.serviceAuth() })
      expect(again.status).toBe(200)
      const garbage = await formPost(`${t.issuer}/token/revocation`, {
        form: { token: 'not-a-token' },
        authorization: t.serviceAuth(),
      })
      expect(garbage.status).toBe(200)
    })

    it("refuses to revoke another client's token, which stays active", async () => {
      const token = await t.serviceToken('read')
      const refused = await formPost(`${t.issuer}/token/revocation`, { form: { token }, authorization: t.webAuth() })
      expect(refused.status).toBe(400)
      expect(refused.body).toEqual({
        error: 'invalid_request',
        error_description: 'client is not authorized to revoke the presented token',
      })
      const still = await t.introspect(token)
      expect(still.body.active).toBe(true)
    })

    it('reports a JWT it did not sign, and an unknown token, as inactive', async () => {
      const token = await t.serviceToken('read')
      const [h, p] = token.split('.')
      const forged = `${h}.${p}.${'A'.repeat(86)}`
      const res = await t.introspect(forged)
      expect(res.body).toEqual({ active: false })
      const unknown = await t.introspect('abc')
      expect(unknown.body).toEqual({ active: false })
    })

    it('answers an oversized introspection body with 413, not a 500', async () => {
      const res = await t.introspect('x'.repeat(60 * 1024))
      expect(res.status).toBe(413)
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'request body too large' })
    })

    it('needs client authentication', async () => {
      const token = await t.serviceToken('read')
      const res = await formPost(`${t.issuer}/token/introspection`, { form: { token } })
      expect(res.status).toBe(400)
      expect(res.body.error).toBe('invalid_request')
      const wrong = await formPost(`${t.issuer}/token/introspection`, {
        form: { token },
        authorization: basic(t.service.clientId, 'wrong'),
      })
      expect(wrong.status).toBe(401)
      expect(wrong.body.error).toBe('invalid_client')
    })
  })

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

  describe('deleting a client', () => {
    it('ends its tokens at once and refuses it at the token endpoint', async () => {
      const svc = await registerClient(t.server.db, {
        name: 'Temporary',
        grants: ['client_credentials'],
        scopes: 'read',
      })
      const auth = basic(svc.clientId, svc.secret)
      const token = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read' },
        authorization: auth,
      })
      expect(token.status).toBe(200)
      const { deleteOAuthClient } = await import('../src/oauth/clients.js')
      await deleteOAuthClient(t.server.db, svc.clientId)
      const introspection = await t.introspect(token.body.access_token as string)
      expect(introspection.body).toEqual({ active: false })
      const again = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read' },
        authorization: auth,
      })
      expect(again.status).toBe(401)
      expect(again.body.error).toBe('invalid_client')
      const user = await t.server.db
        .selectFrom('users')
        .select('id')
        .where('username', '=', `client:${svc.clientId}`)
        .executeTakeFirst()
      expect(user).toBeUndefined()
    })
  })
})
