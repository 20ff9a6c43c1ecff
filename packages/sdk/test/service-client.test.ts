/**
 * createServiceClient: client-credentials tokens from the server's own /oauth/token, found by
 * discovery, cached, renewed ahead of expiry in a single flight, and one retry on a 401.
 */
import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { GatehouseFetch } from '../src/index.js'
import { createServiceClient, isDenied, isGatehouseError, OAuthTokenError } from '../src/index.js'
import { rawPost } from './helpers/http.js'

let server: TestServer
let rootAccess: string

beforeAll(async () => {
  server = await startTestServer()
  const root = await server.createUser({ isStaff: true, isSuperuser: true })
  const login = await rawPost(server.url, 'auth.login', { input: { username: root.username, password: root.password } })
  rootAccess = (login.body as { result: { data: { access: string } } }).result.data.access
})

afterAll(async () => {
  await server?.close()
})

/** Registers a confidential client_credentials client through the admin procedure. */
async function newClient(scopes = 'read write') {
  const res = await rawPost(server.url, 'admin.oauthClients.create', {
    input: { name: 'Billing', grants: ['client_credentials'], scopes },
    headers: { authorization: `Bearer ${rootAccess}` },
  })
  const data = (res.body as { result: { data: { client: { clientId: string }; clientSecret: string } } }).result.data
  return { clientId: data.client.clientId, clientSecret: data.clientSecret }
}

/** A fetch that counts requests by path (/oauth/token, discovery, /trpc/...). */
function countingFetch() {
  const paths: string[] = []
  const fetchFn: GatehouseFetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    paths.push(new URL(url).pathname)
    return fetch(input, init)
  }
  return { fetch: fetchFn, count: (path: string) => paths.filter((p) => p === path).length, paths }
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

describe('createServiceClient', () => {
  it('calls scoped procedures as the client service user with one token, found by discovery', async () => {
    const creds = await newClient()
    const http = countingFetch()
    const billing = createServiceClient({ url: server.url, ...creds, scopes: 'read write', fetch: http.fetch })
    expect(await billing.content.scoped()).toEqual({
      message: 'This is a scoped view',
      username: `client:${creds.clientId}`,
      oauth: { clientId: creds.clientId, scopes: ['read', 'write'] },
    })
    const { article } = await billing.articles.create({ title: 'Invoice', body: 'Paid.' })
    expect(article.title).toBe('Invoice')
    expect((await billing.articles.get({ id: article.id })).article.id).toBe(article.id)
    expect(http.count('/oauth/.well-known/openid-configuration')).toBe(1)
    expect(http.count('/oauth/token')).toBe(1)
    // the token is the one a call would send
    const token = await billing.accessToken()
    expect(token.split('.')).toHaveLength(3)
    expect(http.count('/oauth/token')).toBe(1)
  })

  it('many calls at once before any token: one token request (single flight)', async () => {
    const creds = await newClient()
    const http = countingFetch()
    const billing = createServiceClient({
      url: server.url,
      ...creds,
      scopes: ['read'],
      fetch: http.fetch,
      batch: false,
    })
    const answers = await Promise.all(Array.from({ length: 6 }, () => billing.content.scoped()))
    expect(new Set(answers.map((a) => a.username))).toEqual(new Set([`client:${creds.clientId}`]))
    expect(http.count('/oauth/token')).toBe(1)
    expect(http.count('/trpc/content.scoped')).toBe(6)
  })

  it('renews the token before it expires, once for all waiting calls', async () => {
    const creds = await newClient()
    const http = countingFetch()
    let clock = Date.now()
    const billing = createServiceClient({
      url: server.url,
      ...creds,
      scopes: 'read',
      fetch: http.fetch,
      batch: false,
      now: () => clock,
      renewBeforeSeconds: 60,
    })
    const first = await billing.accessToken()
    await billing.content.scoped()
    expect(http.count('/oauth/token')).toBe(1)
    // OAUTH_ACCESS_TOKEN_LIFETIME is an hour: 59 minutes 30 in, the token is renewed ahead of use
    clock += server.config.oauthAccessTokenLifetimeSeconds * 1000 - 30_000
    await Promise.all([billing.content.scoped(), billing.content.scoped(), billing.content.scoped()])
    expect(http.count('/oauth/token')).toBe(2)
    expect(await billing.accessToken()).not.toBe(first)
  })

  it('a token the server refuses (revoked) is renewed and the call sent again, once', async () => {
    const creds = await newClient()
    const http = countingFetch()
    const billing = createServiceClient({ url: server.url, ...creds, scopes: 'read', fetch: http.fetch, batch: false })
    const revoked = await billing.accessToken()
    const revocation = await fetch(`${server.url}/oauth/token/revocation`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${btoa(`${creds.clientId}:${creds.clientSecret}`)}`,
      },
      body: new URLSearchParams({ token: revoked }).toString(),
    })
    expect(revocation.status).toBe(200)
    expect((await billing.content.scoped()).username).toBe(`client:${creds.clientId}`)
    expect(http.count('/oauth/token')).toBe(2)
    expect(http.count('/trpc/content.scoped')).toBe(2)
    expect(await billing.accessToken()).not.toBe(revoked)
  })

  it('a client deleted meanwhile: the retry cannot get a token, and the call fails with its own 401', async () => {
    const creds = await newClient()
    const http = countingFetch()
    const billing = createServiceClient({ url: server.url, ...creds, scopes: 'read', fetch: http.fetch, batch: false })
    await billing.content.scoped()
    const deleted = await rawPost(server.url, 'admin.oauthClients.delete', {
      input: { clientId: creds.clientId },
      headers: { authorization: `Bearer ${rootAccess}` },
    })
    expect(deleted.status).toBe(200)
    const error = await caught(billing.content.scoped())
    expect(isGatehouseError(error) && [error.data.httpStatus, error.data.reason]).toEqual([401, 'TOKEN_REVOKED'])
    expect(http.count('/oauth/token')).toBe(2)
    expect(http.count('/trpc/content.scoped')).toBe(2)
  })

  it('a 401 TOKEN_EXPIRED (the server clock ahead) is retried once with a new token, never in a loop', async () => {
    let offsetMs = 0
    await using skewed = await startTestServer({}, { clock: () => new Date(Date.now() + offsetMs) })
    const root = await skewed.createUser({ isStaff: true, isSuperuser: true })
    const login = await rawPost(skewed.url, 'auth.login', {
      input: { username: root.username, password: root.password },
    })
    const access = (login.body as { result: { data: { access: string } } }).result.data.access
    const created = await rawPost(skewed.url, 'admin.oauthClients.create', {
      input: { name: 'Skewed', grants: ['client_credentials'], scopes: 'read' },
      headers: { authorization: `Bearer ${access}` },
    })
    const data = (created.body as { result: { data: { client: { clientId: string }; clientSecret: string } } }).result
      .data
    const http = countingFetch()
    const client = createServiceClient({
      url: skewed.url,
      clientId: data.client.clientId,
      clientSecret: data.clientSecret,
      scopes: 'read',
      fetch: http.fetch,
      batch: false,
    })
    await client.content.scoped()
    offsetMs = 2 * skewed.config.oauthAccessTokenLifetimeSeconds * 1000
    const error = await caught(client.content.scoped())
    expect(isGatehouseError(error) && error.data.reason).toBe('TOKEN_EXPIRED')
    expect([http.count('/oauth/token'), http.count('/trpc/content.scoped')]).toEqual([2, 3])
    offsetMs = 0
    expect((await client.content.scoped()).oauth?.scopes).toEqual(['read'])
  })

  it('a wrong secret fails the call with the OAuth error as its cause', async () => {
    const creds = await newClient()
    const billing = createServiceClient({
      url: server.url,
      clientId: creds.clientId,
      clientSecret: 'wrong',
      scopes: 'read',
    })
    const error = await caught(billing.content.scoped())
    const cause = (error as { cause?: unknown }).cause
    expect(cause).toBeInstanceOf(OAuthTokenError)
    expect(cause).toMatchObject({ error: 'invalid_client', status: 401 })
    await expect(billing.accessToken()).rejects.toMatchObject({ name: 'OAuthTokenError', error: 'invalid_client' })
  })

  it('scopes narrow: a read-only client is refused writes, and procedures without scopes', async () => {
    const creds = await newClient('read')
    const reader = createServiceClient({ url: server.url, ...creds, scopes: 'read' })
    expect((await reader.articles.list()).items).toBeInstanceOf(Array)
    const write = await caught(reader.articles.create({ title: 't', body: 'b' }))
    expect(isDenied(write) && write.data.reason).toBe('NOT_PERMITTED')
    const me = await caught(reader.auth.me())
    expect(isDenied(me) && [me.data.httpStatus, me.message]).toEqual([
      403,
      'OAuth access tokens cannot call this procedure.',
    ])
    // asking for a scope the client was not registered with is the token endpoint's refusal
    const greedy = createServiceClient({ url: server.url, ...creds, scopes: 'read write' })
    await expect(greedy.accessToken()).rejects.toMatchObject({ error: 'invalid_scope' })
  })

  it('a scope unknown to the server is refused with invalid_scope, not left out of the token', async () => {
    const creds = await newClient('read write')
    const client = createServiceClient({ url: server.url, ...creds, scopes: 'read admin' })
    const error = await caught(client.content.scoped())
    const cause = (error as { cause?: unknown }).cause
    expect(cause).toBeInstanceOf(OAuthTokenError)
    expect(cause).toMatchObject({ error: 'invalid_scope', status: 400 })
    await expect(client.accessToken()).rejects.toMatchObject({ name: 'OAuthTokenError', error: 'invalid_scope' })
  })

  it('a wrong issuer is a discovery error; bad options are TypeErrors', async () => {
    const creds = await newClient()
    const lost = createServiceClient({ url: server.url, ...creds, scopes: 'read', issuer: `${server.url}/nowhere` })
    await expect(lost.accessToken()).rejects.toMatchObject({ error: 'discovery_failed' })
    expect(() => createServiceClient({ url: '', ...creds, scopes: 'read' })).toThrow(TypeError)
    expect(() =>
      createServiceClient({ url: server.url, clientId: creds.clientId, clientSecret: '', scopes: 'read' }),
    ).toThrow('`clientSecret` is required')
    expect(() => createServiceClient({ url: server.url, ...creds, scopes: ' ' })).toThrow('`scopes` is required')
    expect(() => createServiceClient({ url: server.url, ...creds, scopes: 'read', renewBeforeSeconds: -1 })).toThrow(
      TypeError,
    )
  })
})
