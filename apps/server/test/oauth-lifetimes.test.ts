/**
 * The OAuth server's configurable lifetimes and login throttling, on a server of their own (short
 * OAUTH_ACCESS_TOKEN_LIFETIME, a low THROTTLE_LOGIN_FAILURES), so waiting for expiry stays quick.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createOAuthClient } from '../src/oauth-core/clients.js'
import type { TestServer } from '../src/testing.js'
import { startTestServer } from '../src/testing.js'
import { authorizeUrl, basic, Browser, csrfOf, FORM, formAction, formPost, tokenRequest } from './helpers/oauth.js'

describe(`${TEST_BACKEND}: OAuth lifetimes and login throttling`, () => {
  let server: TestServer
  let auth: string

  beforeAll(async () => {
    server = await startTestServer({
      OAUTH_ACCESS_TOKEN_LIFETIME: '2s',
      OAUTH_GRANTS: 'client_credentials,authorization_code',
      THROTTLE_LOGIN_FAILURES: '2/15m',
      // HS256's secret cannot sign tokens others verify: the OAuth server signs with EdDSA keys of its own.
      JWT_ALGORITHM: 'HS256',
      JWT_SECRET: 'a-test-secret-that-is-long-enough-0123456789',
    })
    const svc = await createOAuthClient(
      server.db,
      // a resource server too, so it may introspect its tokens
      { name: 'Short-lived', grants: ['client_credentials'], scopes: 'read', resourceServer: true },
      server.config.oauthGrants,
    )
    auth = basic(svc.client.clientId, svc.clientSecret ?? '')
  })
  afterAll(() => server.close())

  it('issues tokens with the configured lifetime, and introspects them as inactive once expired', async () => {
    const res = await tokenRequest(server.url, {
      form: { grant_type: 'client_credentials', scope: 'read' },
      authorization: auth,
    })
    expect(res.status).toBe(200)
    expect(res.body.expires_in).toBe(2)
    const token = res.body.access_token as string
    const introspect = () =>
      formPost(`${server.url}/oauth/token/introspection`, { form: { token }, authorization: auth })
    // First, while the token surely lives (a busy machine can take a second over the JWKS checks).
    expect((await introspect()).body.active).toBe(true)
    // Published by the OAuth server (discovery's jwks_uri); /.well-known/jwks.json publishes nothing under HS256.
    expect(await (await fetch(`${server.url}/.well-known/jwks.json`)).json()).toEqual({ keys: [] })
    const jwks = (await (await fetch(`${server.url}/oauth/jwks`)).json()) as { keys: [] }
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
    })
    expect(protectedHeader.alg).toBe('EdDSA')
    await new Promise((resolve) => setTimeout(resolve, 3100))
    expect((await introspect()).body).toEqual({ active: false })
  })

  it('refuses to register a client for a grant OAUTH_GRANTS leaves out', async () => {
    await expect(
      createOAuthClient(
        server.db,
        {
          name: 'x',
          grants: ['authorization_code', 'refresh_token'],
          redirectUris: ['https://a.example/cb'],
          scopes: 'read',
        },
        server.config.oauthGrants,
      ),
    ).rejects.toMatchObject({
      fieldErrors: { grants: ['Grant refresh_token is not offered by this server (OAUTH_GRANTS).'] },
    })
  })

  it('throttles failed sign-ins on the login page like every other login (429, Retry-After)', async () => {
    const user = await server.createUser({ username: 'throttled-user' })
    const web = await createOAuthClient(
      server.db,
      { name: 'Web', grants: ['authorization_code'], redirectUris: ['https://a.example/cb'], scopes: 'openid read' },
      server.config.oauthGrants,
    )
    const browser = new Browser()
    const url = authorizeUrl({
      base: server.url,
      clientId: web.client.clientId,
      redirectUri: 'https://a.example/cb',
      scope: 'openid read',
    })
    const page = await browser.follow(url, server.url)
    const attempt = (password: string) =>
      browser.fetch(`${server.url}${formAction(page.text, 'login')}`, {
        method: 'POST',
        headers: { 'content-type': FORM },
        body: new URLSearchParams({ csrf: csrfOf(page.text), username: user.username, password }).toString(),
      })
    expect((await attempt('wrong-1')).status).toBe(401)
    expect((await attempt('wrong-2')).status).toBe(401)
    const throttled = await attempt(user.password)
    expect(throttled.status).toBe(429)
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(throttled.text).toMatch(/Request was throttled\. Expected available in \d+ seconds?\./)
  })
})
