/**
 * The OAuth 2 / OpenID Connect authorization server at /oauth, over HTTP only: discovery, the
 * client-credentials grant, introspection and revocation, and what deleting a client ends.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'

import { basic, decodeJwt, formPost, registerClient, tokenRequest } from './helpers/oauth.js'
import { providerTestbed } from './helpers/oauth-testbed.js'

describe(`${TEST_BACKEND}: OAuth authorization server over HTTP: discovery, client credentials, introspection`, () => {
  const t = providerTestbed()

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
      const { deleteOAuthClient } = await import('../src/oauth-core/clients.js')
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
