/**
 * Auto-refresh against a real server. Its clock is the test's: an access token expires when a
 * test moves the clock past its exp, not after a real second, so a refreshed token stays good
 * however slow the machine is between the refresh and the retry.
 */
import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createGatehouseClient, isGatehouseError, memoryStorage } from '../src/index.js'
import { expiryOf, rawMutation, rawQuery, recordingFetch } from './helpers/http.js'

let server: TestServer
let offsetMs = 0

beforeAll(async () => {
  server = await startTestServer({ ACCESS_TOKEN_LIFETIME: '60s' }, { clock: () => new Date(Date.now() + offsetMs) })
})

afterAll(async () => {
  await server?.close()
})

async function loggedIn(opts: { batch?: boolean } = {}) {
  const { username, password } = await server.createUser()
  const storage = memoryStorage()
  const http = recordingFetch()
  const client = createGatehouseClient({ url: server.url, storage, fetch: http.fetch, batch: opts.batch })
  await client.auth.login({ username, password })
  const tokens = await storage.get()
  if (!tokens) throw new Error('login stored no tokens')
  return { client, storage, http, username, tokens }
}

/** The premise of every test here: the server itself refuses the old access token as expired. */
async function expectExpired(access: string) {
  offsetMs = Math.max(offsetMs, expiryOf(access) * 1000 - Date.now())
  const res = await rawQuery(server.url, 'auth.me', { authorization: `Bearer ${access}` })
  expect(res.status).toBe(401)
  expect(res.body.error?.data).toMatchObject({ code: 'UNAUTHORIZED', reason: 'TOKEN_EXPIRED' })
}

describe('auto-refresh', () => {
  for (const batch of [true, false]) {
    it(`should refresh exactly once for 10 concurrent calls with an expired token (batch: ${batch})`, async () => {
      const { client, storage, http, username, tokens } = await loggedIn({ batch })
      await expectExpired(tokens.access)
      http.requests.length = 0

      const results = await Promise.all(Array.from({ length: 10 }, () => client.auth.me()))

      expect(results.map((r) => r.user.username)).toEqual(Array(10).fill(username))
      expect(http.calls('auth.refresh')).toHaveLength(1)
      // Each call failed once and was retried once, whether batched or not.
      const meCalls = http.requests.flatMap((r) => r.paths).filter((p) => p === 'auth.me')
      expect(meCalls).toHaveLength(20)
      const stored = await storage.get()
      expect(stored?.access).not.toBe(tokens.access)
      expect(stored?.refresh).not.toBe(tokens.refresh)
      // The retries carried the new token.
      expect(http.requests.at(-1)?.authorization).toBe(`Bearer ${stored?.access}`)
    })
  }

  it('should share one refresh between auth.refresh() and calls that expire meanwhile', async () => {
    const { client, storage, http, tokens } = await loggedIn({ batch: false })
    await expectExpired(tokens.access)
    http.requests.length = 0

    const [explicit, ...rest] = await Promise.all([
      client.auth.refresh(),
      client.content.protected(),
      client.content.protected(),
      client.auth.me(),
    ])

    expect(http.calls('auth.refresh')).toHaveLength(1)
    expect(rest[0]).toEqual({ message: 'This is a protected view' })
    expect(await storage.get()).toEqual({ access: explicit.access, refresh: explicit.refresh })
  })

  it('should not refresh again for a call whose expiry arrives after another refresh finished', async () => {
    const { username, password } = await server.createUser()
    const storage = memoryStorage()
    // The first call to content.protected with the old token gets its 401 late.
    let held = false
    const http = recordingFetch({
      delayResponse: (request) => {
        if (held || !request.paths.includes('content.protected')) return 0
        held = true
        return 400
      },
    })
    const client = createGatehouseClient({ url: server.url, storage, fetch: http.fetch, batch: false })
    const { access } = await client.auth.login({ username, password })
    await expectExpired(access)

    const late = client.content.protected()
    await client.auth.me() // fails, refreshes, retries: all before `late` hears back
    expect(http.calls('auth.refresh')).toHaveLength(1)
    expect(await late).toEqual({ message: 'This is a protected view' })

    expect(http.calls('auth.refresh')).toHaveLength(1)
    expect(http.calls('content.protected')).toHaveLength(2)
  })

  it('should refresh again once the refreshed token has expired too', async () => {
    const { client, storage, http, tokens } = await loggedIn()
    await expectExpired(tokens.access)
    await client.auth.me()
    const second = await storage.get()
    await expectExpired(second?.access ?? '')
    await client.auth.me()

    expect(http.calls('auth.refresh')).toHaveLength(2)
  })

  it('should clear storage and reject every waiting call with its UNAUTHORIZED error when the refresh fails', async () => {
    const { client, storage, http, tokens } = await loggedIn({ batch: false })
    // Revoke the refresh token behind the client's back.
    const revoked = await rawMutation(server.url, 'auth.logout', { refresh: tokens.refresh })
    expect(revoked.status).toBe(200)
    await expectExpired(tokens.access)
    http.requests.length = 0

    const results = await Promise.allSettled(Array.from({ length: 5 }, () => client.auth.me()))

    expect(http.calls('auth.refresh')).toHaveLength(1)
    expect(await storage.get()).toBeNull()
    for (const result of results) {
      expect(result.status).toBe('rejected')
      const error = result.status === 'rejected' ? (result.reason as unknown) : undefined
      expect(isGatehouseError(error)).toBe(true)
      if (isGatehouseError(error)) {
        expect(error.data).toMatchObject({
          code: 'UNAUTHORIZED',
          httpStatus: 401,
          reason: 'TOKEN_EXPIRED',
          path: 'auth.me',
        })
      }
    }
    // Not retried: the calls were not sent again after the refresh failed.
    expect(http.calls('auth.me')).toHaveLength(5)
  })

  it('should not refresh on any other 401', async () => {
    const storage = memoryStorage({ access: 'not-a-jwt', refresh: 'not-a-jwt-either' })
    const http = recordingFetch()
    const client = createGatehouseClient({ url: server.url, storage, fetch: http.fetch })

    const error: unknown = await client.auth.me().catch((e: unknown) => e)

    expect(isGatehouseError(error) && error.data.reason).toBe('TOKEN_INVALID')
    expect(http.calls('auth.refresh')).toHaveLength(0)
    expect(await storage.get()).not.toBeNull()
  })

  it('should not send an expired access token with login, and login replaces it', async () => {
    const { client, storage, http, tokens } = await loggedIn()
    const { username, password } = await server.createUser()
    await expectExpired(tokens.access)
    http.requests.length = 0

    await client.auth.login({ username, password })

    expect(http.requests).toHaveLength(1)
    expect(http.requests[0]?.authorization).toBeNull()
    expect((await client.auth.me()).user.username).toBe(username)
    expect((await storage.get())?.access).not.toBe(tokens.access)
  })

  it('should log out with the token a refresh in flight is about to store', async () => {
    const { client, storage, http, tokens } = await loggedIn({ batch: false })
    await expectExpired(tokens.access)

    const [refreshed, logout] = await Promise.all([client.auth.refresh(), client.auth.logout()])

    expect(logout).toEqual({ detail: 'Successfully logged out.' })
    expect(await storage.get()).toBeNull()
    expect(http.calls('auth.refresh')).toHaveLength(1)
    expect(http.calls('auth.logout')).toHaveLength(1)
    // It was the new refresh token that got blacklisted: nothing of this session is usable.
    const reuse = await rawMutation(server.url, 'auth.refresh', { refresh: refreshed.refresh })
    expect(reuse.status).toBe(401)
  })
})
