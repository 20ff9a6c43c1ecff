/**
 * createPkceFlow, outside a browser: the authorize URL it builds is accepted by the server, the
 * code comes back to handleRedirect, and what is checked on the way back (state, iss, errors).
 * The same module runs in Chromium in apps/server/test/oauth-browser.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto'

import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { PkceStorage } from '../src/index.js'
import { createPkceFlow, OAuthTokenError } from '../src/index.js'
import { codeChallenge } from '../src/pkce.js'
import { authorize, Browser } from '../../../apps/server/test/helpers/oauth.js'
import { rawPost } from './helpers/http.js'

const REDIRECT = 'https://spa.example.com/callback'

function memory(): PkceStorage & { items: Map<string, string> } {
  const items = new Map<string, string>()
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  }
}

let server: TestServer
let clientId: string
let alice: { username: string; password: string }

beforeAll(async () => {
  server = await startTestServer()
  const root = await server.createUser({ isStaff: true, isSuperuser: true })
  const login = await rawPost(server.url, 'auth.login', { input: { username: root.username, password: root.password } })
  const access = (login.body as { result: { data: { access: string } } }).result.data.access
  const created = await rawPost(server.url, 'admin.oauthClients.create', {
    input: {
      name: 'Single page app',
      grants: ['authorization_code', 'refresh_token'],
      redirectUris: [REDIRECT],
      scopes: 'openid read',
      public: true,
    },
    headers: { authorization: `Bearer ${access}` },
  })
  clientId = (created.body as { result: { data: { client: { clientId: string } } } }).result.data.client.clientId
  alice = await server.createUser({ username: 'alice' })
})

afterAll(async () => {
  await server?.close()
})

/** Sends "the browser" to the flow's URL: signs alice in, consents, and returns where it lands. */
async function visit(url: string, decision: 'allow' | 'deny' = 'allow', user = alice) {
  const params = new URL(url).searchParams
  const result = await authorize(new Browser(), {
    base: server.url,
    clientId: params.get('client_id') ?? '',
    redirectUri: params.get('redirect_uri') ?? '',
    scope: params.get('scope') ?? '',
    state: params.get('state') ?? '',
    challenge: params.get('code_challenge') ?? '',
    method: params.get('code_challenge_method') ?? '',
    user,
    decision,
  })
  return result.location.href
}

describe('createPkceFlow', () => {
  it('computes S256 with WebCrypto as node:crypto does', async () => {
    for (const verifier of [
      'a'.repeat(43),
      randomBytes(32).toString('base64url'),
      randomBytes(96).toString('base64url'),
    ]) {
      expect(await codeChallenge(verifier)).toBe(createHash('sha256').update(verifier).digest('base64url'))
    }
  })

  it('authorises, exchanges the code with the verifier, calls a scoped procedure and refreshes', async () => {
    const storage = memory()
    const flow = createPkceFlow({ url: server.url, clientId, redirectUri: REDIRECT, storage })
    const url = new URL(await flow.authorizeUrl())
    expect(url.origin + url.pathname).toBe(`${server.url}/oauth/auth`)
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope: 'openid read',
      code_challenge_method: 'S256',
    })
    const [key, saved] = [...storage.items][0] ?? ['', '']
    expect(key).toBe(`gatehouse.pkce.${url.searchParams.get('state')}`)
    expect(await codeChallenge(JSON.parse(saved).verifier)).toBe(url.searchParams.get('code_challenge'))

    const tokens = await flow.handleRedirect(await visit(url.href))
    // `openid` went into the ID token; the access token is for our API
    expect(tokens).toMatchObject({
      tokenType: 'Bearer',
      scope: 'read',
      expiresIn: expect.any(Number),
      idToken: expect.any(String),
    })
    expect(storage.items.size).toBe(0) // the verifier is spent
    const res = await fetch(`${server.url}/trpc/content.scoped`, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    })
    expect(((await res.json()) as { result: { data: unknown } }).result.data).toEqual({
      message: 'This is a scoped view',
      username: 'alice',
      oauth: { clientId, scopes: ['read'] },
    })
    expect(tokens.refreshToken).toEqual(expect.any(String))
    const refreshed = await flow.refresh(tokens.refreshToken ?? '')
    expect(refreshed.accessToken).not.toBe(tokens.accessToken)
  })

  it('a denied authorisation rejects with access_denied and forgets the attempt', async () => {
    const storage = memory()
    const flow = createPkceFlow({ url: server.url, clientId, redirectUri: REDIRECT, storage })
    // bob has never consented to this app, so he is asked, and says no
    const back = await visit(await flow.authorizeUrl(), 'deny', await server.createUser({ username: 'bob' }))
    await expect(flow.handleRedirect(back)).rejects.toMatchObject({ name: 'OAuthTokenError', error: 'access_denied' })
    expect(storage.items.size).toBe(0)
  })

  it('refuses a redirect this tab did not start, a replayed one, and an answer from another issuer', async () => {
    const storage = memory()
    const flow = createPkceFlow({ url: server.url, clientId, redirectUri: REDIRECT, storage })
    // an attacker's own code, injected into the victim's callback (login CSRF): no state of ours
    await expect(flow.handleRedirect(`${REDIRECT}?code=abc&state=forged`)).rejects.toMatchObject({
      error: 'state_mismatch',
    })
    await expect(flow.handleRedirect(`${REDIRECT}?code=abc`)).rejects.toMatchObject({ error: 'state_mismatch' })
    const back = await visit(await flow.authorizeUrl())
    await flow.handleRedirect(back)
    const replay = await flow.handleRedirect(back).catch((e: unknown) => e)
    expect(replay).toBeInstanceOf(OAuthTokenError)
    expect(replay).toMatchObject({ error: 'state_mismatch' })
    const state = new URL(await flow.authorizeUrl()).searchParams.get('state') ?? ''
    await expect(
      flow.handleRedirect(`${REDIRECT}?code=abc&state=${state}&iss=${encodeURIComponent('https://evil.example')}`),
    ).rejects.toMatchObject({ error: 'invalid_response' })
  })

  it('a code exchanged with another verifier is refused by the server', async () => {
    const storage = memory()
    const flow = createPkceFlow({ url: server.url, clientId, redirectUri: REDIRECT, storage })
    const url = await flow.authorizeUrl()
    const back = await visit(url)
    const [key, saved] = [...storage.items][0] ?? ['', '']
    storage.items.set(key, JSON.stringify({ ...JSON.parse(saved), verifier: 'x'.repeat(43) }))
    await expect(flow.handleRedirect(back)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 })
  })

  it('needs a client id and a redirect URI, and somewhere to keep the attempt', async () => {
    expect(() => createPkceFlow({ url: server.url, clientId: '', redirectUri: REDIRECT })).toThrow(TypeError)
    expect(() => createPkceFlow({ url: server.url, clientId, redirectUri: '' })).toThrow(TypeError)
    const flow = createPkceFlow({ url: server.url, clientId, redirectUri: REDIRECT })
    await expect(flow.authorizeUrl()).rejects.toThrow('no sessionStorage here')
  })
})
