/**
 * Sliding mode against a real server whose clock the test moves: one sliding token, stored as
 * both `access` and `refresh`, sent as Bearer and refreshed in place until its `refresh_exp`.
 */
import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

import type { GatehouseHeaders } from '../src/index.js'
import { createGatehouseClient, isGatehouseError, memoryStorage } from '../src/index.js'
import { rawMutation, rawQuery, recordingFetch } from './helpers/http.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now
function advance(seconds: number) {
  now = new Date(now.getTime() + seconds * 1000)
}
/** SLIDING_TOKEN_LIFETIME and SLIDING_TOKEN_REFRESH_LIFETIME, the defaults. */
const LIFETIME = 5 * 60
const REFRESH_LIFETIME = 7 * 24 * 60 * 60

let server: TestServer

beforeAll(async () => {
  server = await startTestServer({}, { clock })
})

afterAll(async () => {
  await server?.close()
})

beforeEach(() => {
  now = START
})

async function slidingClient(opts: { batch?: boolean; headers?: () => GatehouseHeaders } = {}) {
  const user = await server.createUser()
  const storage = memoryStorage()
  const http = recordingFetch()
  const client = createGatehouseClient({ url: server.url, mode: 'sliding', storage, fetch: http.fetch, ...opts })
  const { token } = await client.auth.sliding.obtain({ username: user.username, password: user.password })
  return { client, storage, http, token, ...user }
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

function reasonOf(error: unknown): unknown {
  return isGatehouseError(error) ? error.data.reason : error
}

/** The premise of a test: the server itself refuses `token` as Bearer, for `reason`. */
async function expectRefused(token: string, reason: string) {
  const res = await rawQuery(server.url, 'auth.me', { authorization: `Bearer ${token}` })
  expect(res.status).toBe(401)
  expect(res.body.error?.data).toMatchObject({ code: 'UNAUTHORIZED', reason })
}

describe('sliding mode', () => {
  it('stores the one token as access and refresh, and sends it as Bearer', async () => {
    const { client, storage, http, token, username } = await slidingClient()
    expect(await storage.get()).toEqual({ access: token, refresh: token })
    expect((await client.auth.me()).user.username).toBe(username)
    expect(await client.content.protected()).toEqual({ message: 'This is a protected view' })
    expect(http.requests.map((r) => [r.method, r.paths.join(), r.authorization])).toEqual([
      ['POST', 'auth.sliding.obtain', null],
      ['GET', 'auth.me', `Bearer ${token}`],
      ['GET', 'content.protected', `Bearer ${token}`],
    ])
  })

  for (const batch of [true, false]) {
    it(`refreshes the expired token in place once for 10 concurrent calls (batch: ${batch})`, async () => {
      const { client, storage, http, token, username } = await slidingClient({ batch })
      advance(LIFETIME + 1)
      await expectRefused(token, 'TOKEN_EXPIRED')
      http.requests.length = 0

      const results = await Promise.all(Array.from({ length: 10 }, () => client.auth.me()))

      expect(results.map((r) => r.user.username)).toEqual(Array(10).fill(username))
      const refreshes = http.calls('auth.sliding.refresh')
      expect(refreshes).toHaveLength(1)
      expect(refreshes[0]?.authorization).toBeNull()
      const stored = await storage.get()
      expect(stored?.access).not.toBe(token)
      expect(stored?.refresh).toBe(stored?.access)
      expect(http.requests.at(-1)?.authorization).toBe(`Bearer ${stored?.access}`)
    })
  }

  it('keeps sliding while each refresh comes before refresh_exp, then clears storage and surfaces the expiry', async () => {
    const { client, storage, http } = await slidingClient()
    for (let day = 1; day < 7; day += 1) {
      advance(24 * 60 * 60)
      expect(await client.content.protected()).toEqual({ message: 'This is a protected view' })
    }
    expect(http.calls('auth.sliding.refresh')).toHaveLength(6)
    now = new Date(START.getTime() + (REFRESH_LIFETIME + 1) * 1000)
    const stored = (await storage.get())?.access ?? ''
    const direct = await rawMutation(server.url, 'auth.sliding.refresh', { token: stored })
    expect(direct.body.error?.data).toMatchObject({ reason: 'TOKEN_REFRESH_EXPIRED' })

    expect(reasonOf(await caught(client.content.protected()))).toBe('TOKEN_EXPIRED')
    expect(http.calls('auth.sliding.refresh')).toHaveLength(7)
    expect(await storage.get()).toBeNull()
  })

  it('clears storage when the token was blacklisted elsewhere, and surfaces that', async () => {
    const { client, storage, http, token } = await slidingClient()
    expect((await rawMutation(server.url, 'auth.sliding.logout', { token })).status).toBe(200)
    await expectRefused(token, 'TOKEN_BLACKLISTED')

    expect(reasonOf(await caught(client.content.protected()))).toBe('TOKEN_BLACKLISTED')
    expect(http.calls('auth.sliding.refresh')).toHaveLength(1)
    expect(await storage.get()).toBeNull()
  })

  it('after a role change, refreshes the revoked token and carries on with the new role', async () => {
    const { client, storage, token, username } = await slidingClient()
    expect(reasonOf(await caught(client.content.hr()))).toBe('NOT_PERMITTED')
    await server.auth.addToGroup(username, 'HR')
    await expectRefused(token, 'TOKEN_REVOKED')

    expect(await client.content.hr()).toEqual({ content: 'HR-only content' })
    expect((await storage.get())?.access).not.toBe(token)
  })

  it('auth.sliding.refresh() spends the stored token and stores the new one', async () => {
    const { client, storage, token } = await slidingClient()
    advance(60)
    const { token: next } = await client.auth.sliding.refresh()
    expect(next).not.toBe(token)
    expect(await storage.get()).toEqual({ access: next, refresh: next })
  })

  for (const how of ['auth.sliding.logout()', 'auth.logout()'] as const) {
    it(`${how} blacklists the stored token and clears storage`, async () => {
      const { client, storage, token } = await slidingClient()
      await client.loadPermissions()
      const answer = how === 'auth.logout()' ? await client.auth.logout() : await client.auth.sliding.logout()
      expect(answer).toEqual({ detail: 'Successfully logged out.' })
      expect(await storage.get()).toBeNull()
      expect(client.can('add', 'article')).toBe(false)
      await expectRefused(token, 'TOKEN_BLACKLISTED')
      // Nothing stored: nothing to do, still a success.
      expect(await client.auth.sliding.logout()).toEqual({ detail: 'Successfully logged out.' })
    })
  }

  it('logs out everywhere and clears storage', async () => {
    const { client, storage, token } = await slidingClient()
    expect(await client.auth.logoutAll()).toEqual({ detail: 'Logged out everywhere.' })
    expect(await storage.get()).toBeNull()
    const direct = await rawMutation(server.url, 'auth.sliding.refresh', { token })
    expect(direct.body.error?.data).toMatchObject({ reason: 'TOKEN_BLACKLISTED' })
  })

  it('lets an Authorization header replace the stored token', async () => {
    const { client, http } = await slidingClient({ headers: () => ({ Authorization: 'Token abc' }) })
    expect(reasonOf(await caught(client.auth.me()))).toBe('API_TOKEN_INVALID')
    expect(http.requests.at(-1)?.authorization).toBe('Token abc')
  })

  it('refuses the calls that would spend a token the mode does not keep', async () => {
    const { client, storage, http, token } = await slidingClient()
    http.requests.length = 0
    await expect(client.auth.refresh()).rejects.toThrow(
      'auth.refresh(): sliding mode holds no refresh token; call auth.sliding.refresh()',
    )
    expect(await storage.get()).toEqual({ access: token, refresh: token })
    // auth.login is an ordinary call here: it answers, and the sliding token stays.
    const { username, password } = await server.createUser()
    expect(await client.auth.login({ username, password })).toMatchObject({ user: { username } })
    expect(await storage.get()).toEqual({ access: token, refresh: token })
    expect(http.calls('auth.refresh')).toEqual([])

    for (const mode of ['jwt', 'cookie'] as const) {
      const other = createGatehouseClient({ url: server.url, mode })
      await expect(other.auth.sliding.refresh()).rejects.toThrow(
        `auth.sliding.refresh(): only sliding mode stores a sliding token (this client is in ${mode} mode); pass { token }`,
      )
      await expect(other.auth.sliding.logout()).rejects.toThrow(TypeError)
      // With a token given they are ordinary calls, in any mode.
      expect(await other.auth.sliding.refresh({ token })).toEqual({ token: expect.stringMatching(/^ey/) })
    }
  })
})
