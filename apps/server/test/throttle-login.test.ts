/**
 * Throttling over HTTP, as a client sees it: login brute-force protection (failures per address
 * and name, delays, the window), and counters shared by two server processes on one database.
 */
import { TEST_SECRET_KEY } from '@gatehouse/auth/testing'
import { createDb } from '@gatehouse/db'
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { startApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { mutation, query } from './helpers/http.js'
import { serverPerTest } from './helpers/server.js'
import { creds, from, throttledBody } from './helpers/throttle.js'

/** The server's time, moved by the tests that wait for a window to pass (windows align to the epoch). */
let now = new Date('2026-01-01T00:00:00Z')
const clock = () => now

describe(`${TEST_BACKEND}: throttling over HTTP: logins and shared counters`, () => {
  const { start: serve, track } = serverPerTest()

  /** A test server and a second process on its database, both with `env`. */
  async function twoProcesses(env: Record<string, string>) {
    const full = { PORT: '0', HOST: '127.0.0.1', PASSWORD_HASH_COST: '4', SECRET_KEY: TEST_SECRET_KEY, ...env }
    const first = await serve(full, { shared: true })
    const db = await createDb({ ...first.testDb.connection, poolSize: 2 })
    track(() => db.destroy())
    const second = await startApp({ config: loadConfig(full), db })
    track(() => second.close())
    return [first, second] as const
  }

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

  it('shares counts between two server processes on one database', async () => {
    const [first, second] = await twoProcesses({ THROTTLE_ANON: '5/h' })

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
    const [first, second] = await twoProcesses({ THROTTLE_LOGIN_FAILURES: '4/h' })

    const user = await first.createUser()
    for (const server of [first, second, first, second]) {
      expect((await mutation(server.url, 'auth.login', creds(user, 'wrong-password'))).status).toBe(401)
    }
    expect((await mutation(second.url, 'auth.login', creds(user))).status).toBe(429)
    expect((await mutation(first.url, 'auth.login', creds(user))).status).toBe(429)
  })
})
