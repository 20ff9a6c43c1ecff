/**
 * API-token mode: server-to-server calls with `Authorization: Token <key>` and no JWT refresh.
 */
import { createHash } from 'node:crypto'

import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createGatehouseClient, isGatehouseError, memoryStorage } from '../src/index.js'
import { recordingFetch } from './helpers/http.js'

let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
})

afterAll(async () => {
  await server?.close()
})

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

describe('createGatehouseClient({ apiToken })', () => {
  it('sends Authorization: Token <key> on every call, for a key from auth.tokens.obtain', async () => {
    const { username, password } = await server.createUser()
    const { token: key } = await createGatehouseClient({ url: server.url }).auth.tokens.obtain({ username, password })

    const http = recordingFetch()
    const service = createGatehouseClient({ url: server.url, apiToken: key, fetch: http.fetch })
    expect(await service.content.protected()).toEqual({ message: 'This is a protected view' })
    expect((await service.auth.me()).user.username).toBe(username)
    const { items } = await service.auth.tokens.list()
    // A DRF key (40 hex) is listed under the first 24 hex of its SHA-256.
    const id = createHash('sha256').update(key).digest('hex').slice(0, 24)
    expect(items).toEqual([expect.objectContaining({ id, name: 'default' })])
    expect(http.requests.length).toBeGreaterThan(0)
    for (const request of http.requests) expect(request.authorization).toBe(`Token ${key}`)
  })

  it('uses a named key made by a logged-in client, and can manage keys with it', async () => {
    const { username, password } = await server.createUser()
    const owner = createGatehouseClient({ url: server.url })
    await owner.auth.login({ username, password })
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString()
    const { key, token } = await owner.auth.tokens.create({ name: 'reporting', expiresAt })
    expect(token).toMatchObject({ name: 'reporting', expiresAt, lastUsedAt: null })

    const service = createGatehouseClient({ url: server.url, apiToken: key })
    const extra = await service.auth.tokens.create({ name: 'second' })
    expect((await service.auth.tokens.list()).items.map((t) => t.name)).toEqual(['reporting', 'second'])
    expect(await service.auth.tokens.revoke({ id: extra.token.id })).toEqual({ detail: 'Token revoked.' })
  })

  it('never tries a JWT refresh: a revoked key fails once, with its reason', async () => {
    const { username, password } = await server.createUser()
    const owner = createGatehouseClient({ url: server.url })
    await owner.auth.login({ username, password })
    const { key } = await owner.auth.tokens.create({ name: 'doomed' })
    await owner.auth.tokens.revokeAll()

    const http = recordingFetch()
    const service = createGatehouseClient({ url: server.url, apiToken: key, fetch: http.fetch })
    const error = await caught(service.content.protected())
    expect(isGatehouseError(error) && error.data).toMatchObject({
      code: 'UNAUTHORIZED',
      httpStatus: 401,
      reason: 'API_TOKEN_INVALID',
    })
    expect((error as Error).message).toBe('Invalid token.')
    expect(http.requests).toHaveLength(1)
    expect(http.calls('auth.refresh')).toEqual([])
    await expect(service.auth.refresh()).rejects.toMatchObject({ data: { reason: 'NOT_AUTHENTICATED' } })
    expect(http.calls('auth.refresh')).toEqual([])
  })

  it('sends no credential to auth.tokens.obtain, so a dead key cannot block getting a new one', async () => {
    const { username, password } = await server.createUser()
    const http = recordingFetch()
    const service = createGatehouseClient({ url: server.url, apiToken: 'dead.key', fetch: http.fetch })
    const { token } = await service.auth.tokens.obtain({ username, password })
    expect(token).toMatch(/^[0-9a-f]{40}$/) // DRF's key
    expect(http.calls('auth.tokens.obtain')[0]?.authorization).toBeNull()
  })

  it('registers with a key through auth.tokens.register, an ordinary call that stores nothing', async () => {
    const storage = memoryStorage()
    const anonymous = createGatehouseClient({ url: server.url, storage })
    const username = `keyed${process.pid}`
    const { user, token } = await anonymous.auth.tokens.register({ username, password: 'Tr1cky-passphrase' })
    expect(user).toMatchObject({ username, groups: [] })
    expect(await storage.get()).toBeNull()

    const service = createGatehouseClient({ url: server.url, apiToken: token })
    expect((await service.auth.me()).user).toEqual(user)
  })

  it('refuses a key with spaces, or a key together with token storage', () => {
    expect(() => createGatehouseClient({ url: server.url, apiToken: 'a b' })).toThrow(TypeError)
    expect(() => createGatehouseClient({ url: server.url, apiToken: '' })).toThrow(TypeError)
    expect(() => createGatehouseClient({ url: server.url, apiToken: 'k.s', storage: memoryStorage() })).toThrow(
      TypeError,
    )
  })
})
