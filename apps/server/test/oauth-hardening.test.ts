/**
 * Hardening of the OAuth server (issue 16, item 10), each finding as a test over HTTP:
 * introspection only for resource servers, PKCE for every client, `http://` redirect URIs only on
 * loopback, and `invalid_scope` for a scope the client was not given (the sign-out finding:
 * oauth-hardening-signout.test.ts).
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { loginAs, mutation, query, ROOT } from './helpers/http.js'
import { authorizeUrl, basic, Browser, decodeJwt, formPost, pkce, REDIRECT, tokenRequest } from './helpers/oauth.js'
import { oauthTestbed } from './helpers/oauth-testbed.js'

describe(`${TEST_BACKEND}: OAuth hardening`, () => {
  const t = oauthTestbed()
  let root: string
  beforeAll(async () => {
    root = (await loginAs(t.server, { username: 'root', ...ROOT })).access
  })

  describe('introspection (RFC 7662 §4: only for resource servers)', () => {
    it("attack: an ordinary client introspecting another client's token learns nothing", async () => {
      const token = await t.serviceToken()
      const res = await t.introspect(token, t.webAuth())
      expect([res.status, res.body]).toEqual([200, { active: false }])
    })

    it('attack: an ordinary client learns nothing from introspecting its own token either', async () => {
      const token = await t.serviceToken()
      const res = await t.introspect(token, t.serviceAuth())
      expect([res.status, res.body]).toEqual([200, { active: false }])
    })

    it('should tell a resource server everything about any live token, and nothing once revoked', async () => {
      const token = await t.serviceToken('read write')
      const { payload } = decodeJwt(token)
      const res = await t.introspect(token, t.apiAuth())
      expect([res.status, res.body]).toEqual([
        200,
        {
          active: true,
          client_id: t.service.clientId,
          exp: payload.exp,
          iat: payload.iat,
          iss: t.issuer,
          aud: 'urn:gatehouse:api',
          scope: 'read write',
          token_type: 'Bearer',
        },
      ])
      const revoked = await formPost(`${t.issuer}/token/revocation`, {
        form: { token },
        authorization: t.serviceAuth(),
      })
      expect(revoked.status).toBe(200)
      expect((await t.introspect(token, t.apiAuth())).body).toEqual({ active: false })
    })

    it('should register a resource server through admin.oauthClients.create and show it in the list', async () => {
      const res = await mutation(
        t.base,
        'admin.oauthClients.create',
        { name: 'Orders API', grants: ['client_credentials'], scopes: 'read', resourceServer: true },
        root,
      )
      expect(res.status).toBe(200)
      const { client, clientSecret } = res.body.result.data
      expect(client).toMatchObject({ name: 'Orders API', public: false, resourceServer: true })
      const listed = await query(t.base, 'admin.oauthClients.list', { token: root })
      const items = listed.body.result.data.items as { clientId: string; resourceServer: boolean }[]
      expect(items.find((c) => c.clientId === client.clientId)?.resourceServer).toBe(true)
      expect(items.find((c) => c.clientId === t.web.clientId)?.resourceServer).toBe(false)
      const token = await t.serviceToken()
      const seen = await t.introspect(token, basic(client.clientId, clientSecret))
      expect(seen.body).toMatchObject({ active: true, client_id: t.service.clientId })
    })

    it('should refuse a public resource server with a 400 naming resourceServer', async () => {
      const res = await mutation(
        t.base,
        'admin.oauthClients.create',
        {
          name: 'x',
          grants: ['authorization_code'],
          redirectUris: ['https://app.example.com/cb'],
          scopes: 'read',
          public: true,
          resourceServer: true,
        },
        root,
      )
      expect(res.status).toBe(400)
      expect(res.body.error.data.fieldErrors).toEqual({
        resourceServer: ['A public client cannot be a resource server: it has no secret to introspect with.'],
      })
    })
  })

  describe('PKCE for every client (OAuth 2.1, RFC 9700 §2.1.1)', () => {
    it('attack: a confidential client asking for a code without code_challenge is sent back with invalid_request, before any sign-in', async () => {
      const res = await new Browser().follow(
        authorizeUrl({
          base: t.base,
          clientId: t.web.clientId,
          redirectUri: REDIRECT,
          scope: 'openid read',
          challenge: null,
        }),
        t.base,
      )
      expect(res.location).toBeDefined()
      const location = new URL(res.location ?? '')
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT)
      expect(Object.fromEntries(location.searchParams)).toEqual({
        error: 'invalid_request',
        error_description: 'Authorization Server policy requires PKCE to be used for this request',
        state: 'st4te',
        iss: t.issuer,
      })
    })

    it('should issue tokens to a confidential client that proves its code with S256, and refuse its code without the verifier', async () => {
      const { verifier, challenge } = pkce()
      const { code } = await t.codeFor({ scope: 'openid read', challenge })
      const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT }
      const auth = t.webAuth()
      const missing = await tokenRequest(t.base, { form, authorization: auth })
      expect([missing.status, missing.body]).toEqual([
        400,
        { error: 'invalid_grant', error_description: 'grant request is invalid' },
      ])
      // the failed attempt consumed nothing: the code is still good with its verifier
      const ok = await tokenRequest(t.base, { form: { ...form, code_verifier: verifier }, authorization: auth })
      expect(ok.status).toBe(200)
      expect(ok.body.token_type).toBe('Bearer')
    })
  })

  describe('redirect URIs: http only on loopback (RFC 8252 §7.3, §8.3; RFC 9700 §2.6)', () => {
    const create = (redirectUris: string[]) =>
      mutation(
        t.base,
        'admin.oauthClients.create',
        { name: 'Native app', grants: ['authorization_code'], redirectUris, scopes: 'openid read', public: true },
        root,
      )

    it('attack: admin.oauthClients.create refuses an http redirect URI on any host but a loopback IP literal (400 naming redirectUris)', async () => {
      for (const uri of ['http://app.example.com/cb', 'http://localhost:8080/cb', 'http://10.0.0.7/cb']) {
        const res = await create([uri])
        expect(res.status, uri).toBe(400)
        expect(res.body.error.data.fieldErrors).toEqual({
          redirectUris: [
            `"${uri}" must use https; http only on a loopback IP literal, 127.0.0.1 or [::1] (not localhost: RFC 8252 §8.3).`,
          ],
        })
      }
    })

    it('should accept http on 127.0.0.1 and [::1], and https anywhere', async () => {
      const uris = [
        'http://127.0.0.1:8080/cb',
        'http://[::1]:8080/cb',
        'https://app.example.com/cb',
        'https://localhost/cb',
      ]
      const res = await create(uris)
      expect(res.status).toBe(200)
      expect(res.body.result.data.client.redirectUris).toEqual(uris)
    })

    it('attack: a client row registered before the rule with an http redirect URI gets no code there: an error page, no redirect', async () => {
      const created = await create(['https://app.example.com/cb'])
      const clientId = created.body.result.data.client.clientId as string
      const legacy = 'http://app.example.com/cb'
      await t.server.db
        .updateTable('oauth_clients')
        .set({ redirect_uris: JSON.stringify([legacy]) })
        .where('id', '=', clientId)
        .execute()
      const res = await new Browser().fetch(
        authorizeUrl({ base: t.base, clientId, redirectUri: legacy, scope: 'openid read' }),
      )
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
      expect(res.text).toContain('redirect_uri did not match any of the client&#39;s registered redirect_uris')
    })
  })

  describe('invalid_scope for a scope the client was not given (RFC 6749 §4.1.2.1, §5.2)', () => {
    const refused = (scope: string) => ({
      error: 'invalid_scope',
      error_description: 'requested scope is not allowed',
      scope,
    })

    it('attack: the authorization endpoint sends back invalid_scope for an unknown scope, or one the client was not given, before any sign-in', async () => {
      // web is registered with openid profile read write; spa with openid read
      for (const [clientId, scope, offending] of [
        [t.web.clientId, 'openid read admin', 'admin'],
        [t.spa.clientId, 'openid read write', 'write'],
      ] as const) {
        const res = await new Browser().follow(
          authorizeUrl({ base: t.base, clientId, redirectUri: REDIRECT, scope }),
          t.base,
        )
        const location = new URL(res.location ?? 'about:blank')
        expect(`${location.origin}${location.pathname}`, scope).toBe(REDIRECT)
        expect(Object.fromEntries(location.searchParams), scope).toEqual({
          ...refused(offending),
          state: 'st4te',
          iss: t.issuer,
        })
      }
    })

    it('attack: client_credentials answers invalid_scope for an unknown scope instead of a token without it', async () => {
      const res = await tokenRequest(t.base, {
        form: { grant_type: 'client_credentials', scope: 'read admin' },
        authorization: t.serviceAuth(),
      })
      expect([res.status, res.body]).toEqual([400, refused('admin')])
    })

    it('attack: a refresh asking for a scope the refresh token does not hold is invalid_scope', async () => {
      const { code, verifier } = await t.codeFor({ scope: 'openid read' })
      const tokens = await t.exchange({ code, code_verifier: verifier }, t.webAuth())
      expect(tokens.status).toBe(200)
      for (const [scope, offending] of [
        ['read admin', 'admin'],
        ['read write', 'write'],
      ] as const) {
        const res = await tokenRequest(t.base, {
          form: { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string, scope },
          authorization: t.webAuth(),
        })
        expect(res.status, scope).toBe(400)
        expect(res.body, scope).toEqual({
          error: 'invalid_scope',
          error_description: 'refresh token missing requested scope',
          scope: offending,
        })
      }
      // the refused attempts consumed nothing: a narrower refresh still works
      const narrower = await tokenRequest(t.base, {
        form: { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string, scope: 'read' },
        authorization: t.webAuth(),
      })
      expect(narrower.status).toBe(200)
      expect(narrower.body.scope).toBe('read')
    })
  })
})
