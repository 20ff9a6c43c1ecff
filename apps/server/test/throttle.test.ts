/**
 * Throttling over HTTP, as a client sees it: DRF's anon, user and scoped rates, login
 * brute-force protection, and counters shared by two server processes on one database.
 */
import { request } from 'node:http'

import type { Rate } from '@gatehouse/auth'
import { TEST_SECRET_KEY } from '@gatehouse/auth/testing'
import { createDb } from '@gatehouse/db'
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { startApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { Context } from '../src/context.js'
import { publicProcedure, throttled } from '../src/procedures.js'
import type { TestServer } from '../src/testing.js'
import { createCallerFactory, router } from '../src/trpc.js'
import { errorBody, login, mutation, query, wire } from './helpers/http.js'
import { serverPerTest } from './helpers/server.js'

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: any
}

/**
 * A call from a chosen loopback address (127.0.0.0/8 all reach the server), so tests can be
 * several clients. fetch cannot pick its source address; node:http can.
 */
function from(address: string) {
  const call = (url: string, opts: { method: string; body?: unknown; token?: string }) =>
    new Promise<Reply>((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body)
      const req = request(
        url,
        {
          method: opts.method,
          localAddress: address,
          headers: {
            ...(payload ? { 'content-type': 'application/json' } : {}),
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          },
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }))
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  return {
    query: (base: string, path: string, token?: string) => call(`${base}/trpc/${path}`, { method: 'GET', token }),
    mutation: (base: string, path: string, body: unknown) => call(`${base}/trpc/${path}`, { method: 'POST', body }),
  }
}

function throttledBody(path: string, seconds: number) {
  const unit = seconds === 1 ? 'second' : 'seconds'
  return errorBody({
    message: `Request was throttled. Expected available in ${seconds} ${unit}.`,
    code: 'TOO_MANY_REQUESTS',
    httpStatus: 429,
    path,
    reason: 'THROTTLED',
  })
}

/** The server's time, moved by the tests that wait for a window to pass (windows align to the epoch). */
let now = new Date('2026-01-01T00:00:00Z')
const clock = () => now

/** What auth.login takes: createUser's result also carries the id, which the strict input refuses. */
const creds = (user: { username: string; password: string }, password = user.password) => ({
  username: user.username,
  password,
})

describe(`${TEST_BACKEND}: throttling over HTTP`, () => {
  const { start: serve, track } = serverPerTest()

  it('refuses an anonymous address past THROTTLE_ANON with 429, Retry-After and DRF’s message', async () => {
    const server = await serve({ THROTTLE_ANON: '3/h' })
    for (let i = 0; i < 3; i += 1) expect((await query(server.url, 'content.protected')).status).toBe(401)
    const res = await query(server.url, 'content.protected')
    expect(res.status).toBe(429)
    const wait = Number(res.headers.get('retry-after'))
    expect(wait).toBeGreaterThanOrEqual(1)
    expect(wait).toBeLessThanOrEqual(3600)
    expect(res.body).toEqual(throttledBody('content.protected', wait))
    // no challenge on a 429: the credential is not the problem
    expect(res.headers.get('www-authenticate')).toBeNull()
    // another address is another anonymous caller
    expect((await from('127.0.0.2').query(server.url, 'content.protected')).status).toBe(401)
  })

  it('counts authenticated callers per user at THROTTLE_USER, apart from other users', async () => {
    const server = await serve({ THROTTLE_USER: '3/h' })
    const [alice, bob] = [await server.createUser(), await server.createUser()]
    const [a, b] = [(await login(server.url, alice)).access, (await login(server.url, bob)).access]
    for (let i = 0; i < 3; i += 1) expect((await query(server.url, 'auth.me', { token: a })).status).toBe(200)
    const refused = await query(server.url, 'auth.me', { token: a })
    expect(refused.status).toBe(429)
    expect(refused.body).toEqual(throttledBody('auth.me', Number(refused.headers.get('retry-after'))))
    expect((await query(server.url, 'auth.me', { token: b })).status).toBe(200)
    // the same address without a token is an anonymous caller, not alice
    expect((await mutation(server.url, 'auth.login', creds(bob))).status).toBe(200)
  })

  it('counts a request with a bad credential as anonymous and keeps its 401', async () => {
    const server = await serve({ THROTTLE_ANON: '2/h', THROTTLE_USER: '100/h' })
    const bad = await query(server.url, 'content.protected', { token: 'not.a.jwt' })
    expect(bad.status).toBe(401)
    expect(bad.body.error.data.reason).toBe('TOKEN_INVALID')
    expect((await query(server.url, 'content.protected')).status).toBe(401)
    expect((await query(server.url, 'content.protected', { token: 'not.a.jwt' })).status).toBe(429)
  })

  it('applies a scope’s THROTTLE_RATES rate to its procedures only, per caller', async () => {
    const server = await serve({ THROTTLE_RATES: 'register=2/h' })
    const register = (username: string) =>
      mutation(server.url, 'auth.register', { username, password: 'Tr1cky-passphrase' })
    expect((await register('scoped1')).status).toBe(200)
    expect((await register('scoped2')).status).toBe(200)
    const refused = await register('scoped3')
    expect(refused.status).toBe(429)
    expect(refused.body).toEqual(throttledBody('auth.register', Number(refused.headers.get('retry-after'))))
    // other procedures and other addresses are unaffected
    expect(
      (await mutation(server.url, 'auth.login', { username: 'scoped1', password: 'Tr1cky-passphrase' })).status,
    ).toBe(200)
    const elsewhere = await from('127.0.0.2').mutation(server.url, 'auth.register', {
      username: 'scoped3',
      password: 'Tr1cky-passphrase',
    })
    expect(elsewhere.status).toBe(200)
  })

  it('allows a scope without a configured rate freely', async () => {
    const server = await serve({})
    const user = await server.createUser()
    let { refresh } = (await mutation(server.url, 'auth.login', creds(user))).body.result.data
    for (let i = 0; i < 15; i += 1) {
      const res = await mutation(server.url, 'auth.refresh', { refresh })
      expect(res.status).toBe(200)
      refresh = res.body.result.data.refresh
    }
  })

  describe('behind proxies (NUM_PROXIES)', () => {
    const via = (server: TestServer, forwardedFor: string) =>
      query(server.url, 'content.protected', { headers: { 'x-forwarded-for': forwardedFor } })

    it('ignores X-Forwarded-For by default: a client cannot pick a fresh address per request', async () => {
      const server = await serve({ THROTTLE_ANON: '2/h' })
      expect((await via(server, '203.0.113.1')).status).toBe(401)
      expect((await via(server, '203.0.113.2')).status).toBe(401)
      expect((await via(server, '203.0.113.3')).status).toBe(429)
    })

    it('with NUM_PROXIES=1 counts the address the proxy appended, not the proxy’s nor the client’s claims', async () => {
      const server = await serve({ THROTTLE_ANON: '2/h', NUM_PROXIES: '1' })
      expect((await via(server, '203.0.113.1')).status).toBe(401)
      // a client that prepends a made-up address is still the address the proxy saw
      expect((await via(server, '198.51.100.7, 203.0.113.1')).status).toBe(401)
      const refused = await via(server, '203.0.113.1')
      expect(refused.status).toBe(429)
      expect(refused.body).toEqual(throttledBody('content.protected', Number(refused.headers.get('retry-after'))))
      // another client behind the same proxy (the same socket address) has its own counter
      expect((await via(server, '203.0.113.2')).status).toBe(401)
      // no header, or nothing usable in it: the proxy's own address
      expect((await query(server.url, 'content.protected')).status).toBe(401)
      expect((await via(server, 'unknown')).status).toBe(401)
      expect((await via(server, 'unknown')).status).toBe(429)
    })

    /** @see issue 16, item 12: one IPv6 client holds a /64; single addresses gave it 2^64 fresh limits */
    it('attack: counts an IPv6 client by its /64, however many of its addresses it uses', async () => {
      const server = await serve({ THROTTLE_ANON: '2/h', NUM_PROXIES: '1' })
      expect((await via(server, '2001:db8:5:6::1')).status).toBe(401)
      expect((await via(server, '2001:db8:5:6:abcd::2')).status).toBe(401)
      expect((await via(server, '2001:db8:5:6:ffff:ffff:ffff:fffe')).status).toBe(429)
      expect((await via(server, '2001:db8:5:7::1')).status).toBe(401)
    })

    it('counts login failures and writes audit rows under the forwarded address', async () => {
      const server = await serve({ THROTTLE_LOGIN_FAILURES: '2/h', NUM_PROXIES: '1' })
      const user = await server.createUser()
      const login = (forwardedFor: string, username: string) =>
        wire(`${server.url}/trpc/auth.login`, {
          method: 'POST',
          body: JSON.stringify({ username, password: 'wrong-password' }),
          headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
        })
      expect((await login('203.0.113.50', 'nobody-1')).status).toBe(401)
      expect((await login('203.0.113.50', 'nobody-2')).status).toBe(401)
      expect((await login('203.0.113.50', 'nobody-3')).status).toBe(429)
      // one address used up its failures; the others behind the proxy still log in
      const ok = await wire(`${server.url}/trpc/auth.login`, {
        method: 'POST',
        body: JSON.stringify(creds(user)),
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.51' },
      })
      expect(ok.status).toBe(200)
      const rows = await server.testDb.db
        .selectFrom('audit_events')
        .select(['event', 'address'])
        .where('event', 'in', ['login.failed', 'login.succeeded'])
        .orderBy('id')
        .execute()
      expect(rows.map((r) => r.address)).toEqual(['203.0.113.50', '203.0.113.50', '203.0.113.50', '203.0.113.51'])
    })
  })

  describe('login brute-force protection', () => {
    it('refuses the right password after 10 failures from its address, with Retry-After; not from others', async () => {
      const delays: number[] = []
      const server = await serve({}, { sleep: (ms) => Promise.resolve(void delays.push(ms)) })
      const user = await server.createUser()
      for (let i = 0; i < 10; i += 1) {
        const res = await mutation(server.url, 'auth.login', { username: user.username, password: `wrong-${i}` })
        expect(res.status).toBe(401)
      }
      const res = await mutation(server.url, 'auth.login', creds(user))
      expect(res.status).toBe(429)
      const wait = Number(res.headers.get('retry-after'))
      expect(wait).toBeGreaterThanOrEqual(1)
      expect(wait).toBeLessThanOrEqual(900)
      expect(res.body).toEqual(throttledBody('auth.login', wait))
      // only this address is used up for this name: the owner elsewhere gets in, after a delay
      expect((await from('127.0.0.2').mutation(server.url, 'auth.login', creds(user))).status).toBe(200)
      expect(delays).toEqual([1000])
    })

    it('never counts successful logins', async () => {
      const server = await serve({ THROTTLE_LOGIN_FAILURES: '2/h' })
      const user = await server.createUser()
      for (let i = 0; i < 20; i += 1) expect((await mutation(server.url, 'auth.login', creds(user))).status).toBe(200)
      expect((await mutation(server.url, 'auth.login', creds(user, 'wrong-password'))).status).toBe(401)
      expect((await mutation(server.url, 'auth.login', creds(user))).status).toBe(200)
    })

    it('counts failures per address across usernames', async () => {
      const server = await serve({ THROTTLE_LOGIN_FAILURES: '3/h' })
      const attacker = from('127.0.0.3')
      for (const username of ['first', 'second', 'third']) {
        expect((await attacker.mutation(server.url, 'auth.login', { username, password: 'guess-123' })).status).toBe(
          401,
        )
      }
      const user = await server.createUser()
      expect((await attacker.mutation(server.url, 'auth.login', creds(user))).status).toBe(429)
      expect((await mutation(server.url, 'auth.login', creds(user))).status).toBe(200) // from 127.0.0.1
    })

    it('lets the user in again once the window has passed', async () => {
      now = new Date('2026-01-01T00:00:00Z')
      const server = await serve({ THROTTLE_LOGIN_FAILURES: '2/2s' }, { clock })
      const user = await server.createUser()
      for (let i = 0; i < 2; i += 1) await mutation(server.url, 'auth.login', creds(user, 'wrong-password'))
      const refused = await mutation(server.url, 'auth.login', creds(user))
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '2'])
      now = new Date(now.getTime() + 2000)
      expect((await mutation(server.url, 'auth.login', creds(user))).status).toBe(200)
    })
  })

  it('allows an address again once the window has passed', async () => {
    now = new Date('2026-01-01T00:00:00.500Z')
    const server = await serve({ THROTTLE_ANON: '3/2s' }, { clock })
    for (let i = 0; i < 3; i += 1) expect((await query(server.url, 'content.protected')).status).toBe(401)
    const refused = await query(server.url, 'content.protected')
    // 1.5 s of the 2 s window are left: Retry-After rounds up
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '2'])
    now = new Date(now.getTime() + 1500)
    expect((await query(server.url, 'content.protected')).status).toBe(401)
  })

  it('shares counts between two server processes on one database', async () => {
    const env = {
      PORT: '0',
      HOST: '127.0.0.1',
      PASSWORD_HASH_COST: '4',
      THROTTLE_ANON: '5/h',
      SECRET_KEY: TEST_SECRET_KEY,
    }
    const first = await serve(env, { shared: true })
    const db = await createDb({ ...first.testDb.connection, poolSize: 2 })
    track(() => db.destroy())
    const second = await startApp({ config: loadConfig(env), db })
    track(() => second.close())

    // 3 + 2: neither process alone has reached 5, together they have
    for (const server of [first, first, first, second, second]) {
      expect((await query(server.url, 'content.protected')).status).toBe(401)
    }
    for (const server of [second, first]) {
      const res = await query(server.url, 'content.protected')
      expect(res.status).toBe(429)
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    }
  })

  it('shares login failures between two server processes on one database', async () => {
    const env = {
      PORT: '0',
      HOST: '127.0.0.1',
      PASSWORD_HASH_COST: '4',
      THROTTLE_LOGIN_FAILURES: '4/h',
      SECRET_KEY: TEST_SECRET_KEY,
    }
    const first = await serve(env, { shared: true })
    const db = await createDb({ ...first.testDb.connection, poolSize: 2 })
    track(() => db.destroy())
    const second = await startApp({ config: loadConfig(env), db })
    track(() => second.close())

    const user = await first.createUser()
    for (const server of [first, second, first, second]) {
      expect((await mutation(server.url, 'auth.login', creds(user, 'wrong-password'))).status).toBe(401)
    }
    expect((await mutation(second.url, 'auth.login', creds(user))).status).toBe(429)
    expect((await mutation(first.url, 'auth.login', creds(user))).status).toBe(429)
  })
})

describe('the throttle middleware', () => {
  const testRouter = router({
    open: publicProcedure.query(() => 'ok'),
    scoped: publicProcedure.use(throttled('burst')).query(() => 'ok'),
  })
  const createCaller = createCallerFactory(testRouter)

  function caller(over: { address?: string; hasCredentials?: boolean; user?: { id: number } | null; rates?: string }) {
    const config = loadConfig({ THROTTLE_ANON: '5/min', THROTTLE_USER: '50/min', THROTTLE_RATES: over.rates ?? '' })
    const keys: string[] = []
    let authenticated = 0
    const ctx = {
      auth: {
        throttle: (key: string, rate: Rate) => {
          keys.push(`${key} @ ${rate.limit}/${rate.windowSeconds}`)
          return Promise.resolve({ allowed: true, remaining: 1, retryAfterSeconds: 1 })
        },
      } as unknown as Context['auth'],
      config,
      address: over.address,
      hasCredentials: () => over.hasCredentials ?? false,
      meta: { address: over.address },
      authenticate: () => {
        authenticated += 1
        return Promise.resolve((over.user ?? null) as Awaited<ReturnType<Context['authenticate']>>)
      },
      access: () => Promise.reject(new Error('not used')),
    } satisfies Context
    return { call: createCaller(ctx), keys, authenticated: () => authenticated }
  }

  it('never authenticates a request that carries no credential', async () => {
    const c = caller({ address: '192.0.2.1' })
    await c.call.open()
    expect(c.authenticated()).toBe(0)
    expect(c.keys).toEqual(['anon:192.0.2.1 @ 5/60'])
  })

  it('keys an authenticated caller by user id at the user rate', async () => {
    const c = caller({ address: '192.0.2.1', hasCredentials: true, user: { id: 7 } })
    await c.call.open()
    expect(c.keys).toEqual(['user:7 @ 50/60'])
  })

  it('adds the scope’s own counter only when the scope has a rate', async () => {
    const free = caller({ address: '192.0.2.1' })
    await free.call.scoped()
    expect(free.keys).toEqual(['anon:192.0.2.1 @ 5/60'])
    const limited = caller({ address: '192.0.2.1', hasCredentials: true, user: { id: 7 }, rates: 'burst=2/s' })
    await limited.call.scoped()
    expect(limited.keys).toEqual(['user:7 @ 50/60', 'scope:burst:user:7 @ 2/1'])
  })

  it('leaves in-process calls without an address unthrottled', async () => {
    const c = caller({})
    await c.call.scoped()
    expect(c.keys).toEqual([])
  })
})
