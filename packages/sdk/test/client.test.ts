/**
 * The client against a real server: wire shape, token storage, errors.
 */
import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { TRPCClientError } from '@trpc/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createGatehouseClient, isGatehouseError, memoryStorage } from '../src/index.js'
import { rawMutation, recordingFetch } from './helpers/http.js'

let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
})

afterAll(async () => {
  await server?.close()
})

function newClient(opts: { batch?: boolean } = {}) {
  const storage = memoryStorage()
  const http = recordingFetch()
  const client = createGatehouseClient({ url: server.url, storage, fetch: http.fetch, batch: opts.batch })
  return { client, storage, http }
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

describe('createGatehouseClient', () => {
  it('should register, log in, and reach protected content', async () => {
    const { client, storage } = newClient()
    const username = `alice${Date.now()}`

    const { user } = await client.auth.register({
      username,
      password: 'correct horse battery staple',
      email: 'a@example.com',
    })
    expect(user).toMatchObject({ username, email: 'a@example.com', isStaff: false, groups: [] })
    expect(await storage.get()).toBeNull() // registering does not log in

    const login = await client.auth.login({ username, password: 'correct horse battery staple' })
    expect(await storage.get()).toEqual({ access: login.access, refresh: login.refresh })
    expect(await client.auth.me()).toEqual({ user: login.user, permissions: [], objectPermissions: {} })
    expect(await client.content.protected()).toEqual({ message: 'This is a protected view' })
  })

  for (const batch of [true, false]) {
    it(`should send queries as GET and mutations as POST, with the stored token (batch: ${batch})`, async () => {
      const { username, password } = await server.createUser()
      const { client, storage, http } = newClient({ batch })

      await client.auth.login({ username, password })
      await client.auth.me()
      const { access } = (await storage.get()) ?? { access: '' }
      await client.auth.verify({ token: access })

      expect(http.requests.map((r) => [r.method, r.paths.join(','), r.authorization])).toEqual([
        ['POST', 'auth.login', null],
        ['GET', 'auth.me', `Bearer ${access}`],
        ['POST', 'auth.verify', null],
      ])
    })
  }

  it('should split calls made together into batches the server accepts (at most 100 calls each)', async () => {
    const { username, password } = await server.createUser()
    const { client, storage, http } = newClient({ batch: true })
    await client.auth.login({ username, password })
    const { access } = (await storage.get()) ?? { access: '' }
    http.requests.length = 0
    const results = await Promise.all(Array.from({ length: 150 }, () => client.auth.verify({ token: access })))
    expect(results).toHaveLength(150)
    expect(http.requests.map((r) => r.paths.length)).toEqual([100, 50])
  })

  it('should send no Authorization header when logged out', async () => {
    const { client, http } = newClient()
    const error = await caught(client.content.protected())
    expect(isGatehouseError(error) && error.data).toMatchObject({ code: 'UNAUTHORIZED', reason: 'NOT_AUTHENTICATED' })
    expect(http.requests[0]?.authorization).toBeNull()
  })

  it('should let group members reach their content and refuse the others with FORBIDDEN', async () => {
    const { username, password } = await server.createUser({ groups: ['HR'] })
    const { client } = newClient()
    await client.auth.login({ username, password })

    expect(await client.content.hr()).toEqual({ content: 'HR-only content' })
    const error = await caught(client.content.manager())
    expect(isGatehouseError(error)).toBe(true)
    if (isGatehouseError(error)) {
      expect(error.data).toMatchObject({
        code: 'FORBIDDEN',
        httpStatus: 403,
        reason: 'NOT_PERMITTED',
        path: 'content.manager',
      })
    }
  })

  it('should reject a wrong password with INVALID_CREDENTIALS and store nothing', async () => {
    const { username } = await server.createUser()
    const { client, storage } = newClient()
    const error = await caught(client.auth.login({ username, password: 'wrong password entirely' }))
    expect(isGatehouseError(error) && error.data).toMatchObject({ code: 'UNAUTHORIZED', reason: 'INVALID_CREDENTIALS' })
    expect(await storage.get()).toBeNull()
  })

  it('should surface per-field errors for bad input', async () => {
    const { client } = newClient()
    const error = await caught(client.auth.register({ username: `bob${Date.now()}`, password: 'short' }))
    expect(isGatehouseError(error)).toBe(true)
    if (isGatehouseError(error)) {
      expect(error.data.code).toBe('BAD_REQUEST')
      expect(error.data.httpStatus).toBe(400)
      expect(error.data.fieldErrors?.password?.length).toBeGreaterThan(0)
    }
  })

  it('should store the new pair on auth.refresh, with or without an explicit token', async () => {
    const { username, password } = await server.createUser()
    const { client, storage } = newClient()
    const login = await client.auth.login({ username, password })

    const first = await client.auth.refresh()
    expect(first.refresh).not.toBe(login.refresh)
    expect(await storage.get()).toEqual({ access: first.access, refresh: first.refresh })

    const second = await client.auth.refresh({ refresh: first.refresh })
    expect(await storage.get()).toEqual({ access: second.access, refresh: second.refresh })
  })

  it('should reject auth.refresh() with nothing stored as NOT_AUTHENTICATED, without a request', async () => {
    const { client, http } = newClient()
    const error = await caught(client.auth.refresh())
    expect(isGatehouseError(error) && error.data).toMatchObject({ code: 'UNAUTHORIZED', reason: 'NOT_AUTHENTICATED' })
    expect(http.requests).toHaveLength(0)
  })

  it('should clear storage when the server refuses the stored refresh token', async () => {
    const { username, password } = await server.createUser()
    const { client, storage } = newClient()
    const { refresh } = await client.auth.login({ username, password })
    await rawMutation(server.url, 'auth.logout', { refresh })

    const error = await caught(client.auth.refresh())
    expect(isGatehouseError(error) && error.data.code).toBe('UNAUTHORIZED')
    expect(await storage.get()).toBeNull()
  })

  describe('auth.logout', () => {
    it('should blacklist the stored refresh token and clear storage', async () => {
      const { username, password } = await server.createUser()
      const { client, storage } = newClient()
      const { refresh } = await client.auth.login({ username, password })

      expect(await client.auth.logout()).toEqual({ detail: 'Successfully logged out.' })
      expect(await storage.get()).toBeNull()
      const reuse = await rawMutation(server.url, 'auth.refresh', { refresh })
      expect(reuse.status).toBe(401)
    })

    it('should clear storage even when the server says the token was already invalid', async () => {
      const { username, password } = await server.createUser()
      const { client, storage, http } = newClient()
      const { refresh } = await client.auth.login({ username, password })
      await rawMutation(server.url, 'auth.logout', { refresh })

      expect(await client.auth.logout()).toEqual({ detail: 'Successfully logged out.' })
      expect(http.calls('auth.logout')).toHaveLength(1)
      expect(await storage.get()).toBeNull()
    })

    it('should clear storage and reject when the server cannot be reached', async () => {
      const storage = memoryStorage({ access: 'a', refresh: 'r' })
      const client = createGatehouseClient({ url: 'http://127.0.0.1:1', storage })
      const error = await caught(client.auth.logout())
      expect(error).toBeInstanceOf(TRPCClientError)
      expect(await storage.get()).toBeNull()
    })

    it('should keep the stored pair when logging out another refresh token', async () => {
      const a = await server.createUser()
      const { client, storage } = newClient()
      const other = await createGatehouseClient({ url: server.url }).auth.login({
        username: a.username,
        password: a.password,
      })
      const mine = await client.auth.login({ username: a.username, password: a.password })

      await client.auth.logout({ refresh: other.refresh })
      expect(await storage.get()).toEqual({ access: mine.access, refresh: mine.refresh })
    })

    it('should resolve without a request when nothing is stored', async () => {
      const { client, http } = newClient()
      expect(await client.auth.logout()).toEqual({ detail: 'Successfully logged out.' })
      expect(http.requests).toHaveLength(0)
    })
  })

  it('should expose the raw tRPC client over the same links', async () => {
    const { username, password } = await server.createUser()
    const { client } = newClient()
    await client.auth.login({ username, password })
    const { user } = await client.trpc.auth.me.query()
    expect(user.username).toBe(username)
  })

  it('should add the headers option to every request, and let it override authorization', async () => {
    const http = recordingFetch()
    let calls = 0
    const client = createGatehouseClient({
      url: `${server.url}/`,
      fetch: http.fetch,
      storage: memoryStorage({ access: 'stored', refresh: 'stored' }),
      headers: () => {
        calls += 1
        return { 'X-Request-Id': `req-${calls}`, 'X-Unset': undefined }
      },
    })
    await caught(client.auth.me())
    expect(http.requests[0]?.headers.get('x-request-id')).toBe('req-1')
    expect(http.requests[0]?.headers.has('x-unset')).toBe(false)
    expect(http.requests[0]?.authorization).toBe('Bearer stored')

    const overriding = createGatehouseClient({
      url: server.url,
      fetch: http.fetch,
      storage: memoryStorage({ access: 'stored', refresh: 'stored' }),
      headers: { Authorization: 'Token abc' },
    })
    await caught(overriding.auth.me())
    expect(http.requests.at(-1)?.authorization).toBe('Token abc')
  })

  for (const batch of [true, false]) {
    it(`should surface an oversized request as PAYLOAD_TOO_LARGE (batch: ${batch})`, async () => {
      const { client } = newClient({ batch })
      const error = await caught(client.auth.login({ username: 'alice', password: 'x'.repeat(2 * 1024 * 1024) }))
      expect(isGatehouseError(error) && error.data).toMatchObject({ httpStatus: 413, reason: 'PAYLOAD_TOO_LARGE' })
    })
  }

  it('should report a network failure as a TRPCClientError that is not a GatehouseError', async () => {
    const client = createGatehouseClient({ url: 'http://127.0.0.1:1' })
    const error = await caught(client.content.protected())
    expect(error).toBeInstanceOf(TRPCClientError)
    expect(isGatehouseError(error)).toBe(false)
  })
})
