/**
 * Sliding mode against a real server: one sliding token, stored as both `access` and `refresh`,
 * sent as Bearer and refreshed in place until its `refresh_exp`. The server refuses to refresh
 * an expired sliding token (as simplejwt does), so the client refreshes ahead: a call made once
 * the token is half through its life refreshes it first. The client's clock and the server's
 * move together here, unless a test says otherwise.
 */
import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

import type { GatehouseHeaders, TokenStorage } from '../src/index.js'
import { createGatehouseClient, isGatehouseError, memoryStorage } from '../src/index.js'
import { rawMutation, rawQuery, recordingFetch } from './helpers/http.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
function advance(seconds: number) {
  now = new Date(now.getTime() + seconds * 1000)
}
/** SLIDING_TOKEN_LIFETIME and SLIDING_TOKEN_REFRESH_LIFETIME of the test server. */
const LIFETIME = 10 * 60
const HALF = LIFETIME / 2
const REFRESH_LIFETIME = 60 * 60

let server: TestServer

beforeAll(async () => {
  server = await startTestServer(
    { SLIDING_TOKEN_LIFETIME: '10m', SLIDING_TOKEN_REFRESH_LIFETIME: '1h' },
    { clock: () => now },
  )
})

afterAll(async () => {
  await server?.close()
})

beforeEach(() => {
  now = START
})

interface ClientOptions {
  batch?: boolean
  headers?: () => GatehouseHeaders
  storage?: TokenStorage
  /** How far the client's clock is behind the server's, in seconds. */
  behind?: number
}

function clientOver(storage: TokenStorage, opts: ClientOptions = {}) {
  const http = recordingFetch()
  const { behind = 0, ...rest } = opts
  const client = createGatehouseClient({
    url: server.url,
    mode: 'sliding',
    fetch: http.fetch,
    now: () => now.getTime() - behind * 1000,
    ...rest,
    storage,
  })
  return { client, http }
}

async function slidingClient(opts: ClientOptions = {}) {
  const user = await server.createUser()
  const storage = opts.storage ?? memoryStorage()
  const { client, http } = clientOver(storage, opts)
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

  it('does not refresh a token less than half through its life', async () => {
    const { client, http, token } = await slidingClient()
    advance(HALF - 1)
    expect(await client.content.protected()).toEqual({ message: 'This is a protected view' })
    expect(http.calls('auth.sliding.refresh')).toEqual([])
    expect(http.requests.at(-1)?.authorization).toBe(`Bearer ${token}`)
  })

  for (const batch of [true, false]) {
    it(`refreshes ahead once for 10 concurrent calls past half-life, then sends them (batch: ${batch})`, async () => {
      const { client, storage, http, token, username } = await slidingClient({ batch })
      advance(HALF)
      http.requests.length = 0

      const results = await Promise.all(Array.from({ length: 10 }, () => client.auth.me()))

      expect(results.map((r) => r.user.username)).toEqual(Array(10).fill(username))
      const stored = await storage.get()
      expect(stored?.access).not.toBe(token)
      expect(stored?.refresh).toBe(stored?.access)
      // The refresh first, without a Bearer; then every call, with the new token only.
      const [refresh, ...calls] = http.requests
      expect([refresh?.paths, refresh?.authorization]).toEqual([['auth.sliding.refresh'], null])
      expect(calls.flatMap((r) => r.paths)).toEqual(Array(10).fill('auth.me'))
      expect(calls).toHaveLength(batch ? 1 : 10)
      expect(new Set(calls.map((r) => r.authorization))).toEqual(new Set([`Bearer ${stored?.access}`]))
    })
  }

  it('slides while calls come at least every half-life, until refresh_exp; then clears storage', async () => {
    const { client, storage, http, token } = await slidingClient()
    for (let elapsed = HALF; elapsed < REFRESH_LIFETIME; elapsed += HALF) {
      advance(HALF)
      expect(await client.content.protected()).toEqual({ message: 'This is a protected view' })
    }
    const refreshes = REFRESH_LIFETIME / HALF - 1
    expect(http.calls('auth.sliding.refresh')).toHaveLength(refreshes)
    // The first token expired long ago, and the chain it started is alive.
    await expectRefused(token, 'TOKEN_EXPIRED')

    advance(HALF) // refresh_exp: the stored token is still valid, but can be refreshed no more
    const stored = (await storage.get())?.access ?? ''
    const direct = await rawMutation(server.url, 'auth.sliding.refresh', { token: stored })
    expect(direct.body.error).toMatchObject({
      message: "Token 'refresh_exp' claim has expired",
      data: { reason: 'TOKEN_REFRESH_EXPIRED' },
    })
    // The client's refresh ahead is refused the same way, which clears storage; the call then
    // goes without a token and the server says so.
    expect(reasonOf(await caught(client.content.protected()))).toBe('NOT_AUTHENTICATED')
    expect(http.calls('auth.sliding.refresh')).toHaveLength(refreshes + 1)
    expect(http.requests.at(-1)?.authorization).toBeNull()
    expect(await storage.get()).toBeNull()
  })

  it('refreshes a token one second before exp; past exp surfaces TOKEN_EXPIRED and clears storage', async () => {
    const fresh = await slidingClient()
    advance(LIFETIME - 1)
    expect(await fresh.client.content.protected()).toEqual({ message: 'This is a protected view' })
    expect(fresh.http.calls('auth.sliding.refresh')).toHaveLength(1)

    now = START
    const idle = await slidingClient()
    await idle.client.loadPermissions()
    expect(idle.client.can('add', 'article')).toBe(true)
    advance(LIFETIME)
    await expectRefused(idle.token, 'TOKEN_EXPIRED')

    expect(reasonOf(await caught(idle.client.content.protected()))).toBe('TOKEN_EXPIRED')
    // A refresh would be refused (exp is checked first): none is asked for.
    expect(idle.http.calls('auth.sliding.refresh')).toEqual([])
    expect(await idle.storage.get()).toBeNull()
    expect(idle.client.can('add', 'article')).toBe(false)
    expect(reasonOf(await caught(idle.client.content.protected()))).toBe('NOT_AUTHENTICATED')
  })

  it("measures a token's age from when it arrived, not from its iat, so a slow clock still refreshes", async () => {
    const { client, http } = await slidingClient({ behind: 4 * 60 })
    advance(HALF)
    expect(await client.content.protected()).toEqual({ message: 'This is a protected view' })
    expect(http.calls('auth.sliding.refresh')).toHaveLength(1)
  })

  it('falls back to iat for a token read back from storage (a page reload)', async () => {
    const { storage, token } = await slidingClient()
    advance(HALF)
    const { client, http } = clientOver(storage)
    expect(await client.content.protected()).toEqual({ message: 'This is a protected view' })
    expect(http.requests.map((r) => r.paths.join())).toEqual(['auth.sliding.refresh', 'content.protected'])
    expect((await storage.get())?.access).not.toBe(token)
  })

  it('surfaces a token blacklisted elsewhere and clears storage, without a refresh', async () => {
    const { client, storage, http, token } = await slidingClient()
    expect((await rawMutation(server.url, 'auth.sliding.logout', { token })).status).toBe(200)
    await expectRefused(token, 'TOKEN_BLACKLISTED')

    expect(reasonOf(await caught(client.content.protected()))).toBe('TOKEN_BLACKLISTED')
    expect(http.calls('auth.sliding.refresh')).toEqual([])
    expect(await storage.get()).toBeNull()
  })

  it('after a role change, refreshes the revoked token and carries on with the new role', async () => {
    const { client, storage, http, token, username } = await slidingClient()
    expect(reasonOf(await caught(client.content.hr()))).toBe('NOT_PERMITTED')
    await server.auth.addToGroup(username, 'HR')
    await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
    await expectRefused(token, 'TOKEN_REVOKED')

    expect(await client.content.hr()).toEqual({ content: 'HR-only content' })
    expect(http.calls('auth.sliding.refresh')).toHaveLength(1)
    expect((await storage.get())?.access).not.toBe(token)
  })

  it('auth.sliding.refresh() spends the stored token and stores the new one', async () => {
    const { client, storage, token } = await slidingClient()
    advance(60)
    const { token: next } = await client.auth.sliding.refresh()
    expect(next).not.toBe(token)
    expect(await storage.get()).toEqual({ access: next, refresh: next })
  })

  it('auth.sliding.refresh() of an expired token: TOKEN_EXPIRED, and storage is cleared', async () => {
    const { client, storage } = await slidingClient()
    advance(LIFETIME + 1)
    expect(reasonOf(await caught(client.auth.sliding.refresh()))).toBe('TOKEN_EXPIRED')
    expect(await storage.get()).toBeNull()
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
