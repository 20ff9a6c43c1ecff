/**
 * Throttling over HTTP, as a client sees it: DRF's anon, user and scoped rates per caller, their
 * windows, and the caller's address behind proxies (NUM_PROXIES).
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import type { TestServer } from '../src/testing.js'
import { login, mutation, query, wire } from './helpers/http.js'
import { serverPerTest } from './helpers/server.js'
import { creds, from, throttledBody } from './helpers/throttle.js'

/** The server's time, moved by the tests that wait for a window to pass (windows align to the epoch). */
let now = new Date('2026-01-01T00:00:00Z')
const clock = () => now

describe(`${TEST_BACKEND}: throttling over HTTP`, () => {
  const { start: serve } = serverPerTest()

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
})
