/**
 * @see issue 16, item 4: unauthenticated bcrypt work starved logins. Forty concurrent
 * registrations from one address (the anonymous rate allowed them) pushed a legitimate login
 * from 0.26 s to 9.9 s. Now `register` has a default scoped rate (20/h per address), the hash
 * queue refuses work it could not start within PASSWORD_HASH_MAX_WAIT (503, Retry-After), and
 * password checks (logins) go before new hashes (registrations).
 *
 * The bound a login gets: it waits for the hashes already running (PASSWORD_HASH_CONCURRENCY of
 * them, here 1) and its own check, never for registrations queued before it. The test checks
 * that order, not a time.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { TestServer } from '../src/testing.js'
import { startTestServer } from '../src/testing.js'
import { mutation } from './helpers/http.js'

describe(`${TEST_BACKEND}: a registration flood does not starve logins`, () => {
  let server: TestServer

  beforeAll(async () => {
    // A real cost (about a quarter second a hash here) and one slot, so a queue builds.
    server = await startTestServer({
      PASSWORD_HASH_COST: '12',
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_MAX_WAIT: '1s',
    })
  }, 60_000)
  afterAll(() => server.close())

  it('attack: the flood gets 201, 429 or 503 (never a timeout), and a login goes ahead of it', async () => {
    const user = await server.createUser({ password: 'Tr1cky-passphrase' })
    const finished: string[] = []
    const flood = Array.from({ length: 40 }, (_, i) =>
      mutation(server.url, 'auth.register', { username: `flood${i}`, password: 'Tr1cky-passphrase' }).then((res) => {
        if (res.status === 201 || res.status === 200) finished.push(`register:${i}`)
        return res
      }),
    )
    // Once the first registration is through, the ones admitted after it are queued for the slot.
    await Promise.race(flood)
    const login = await mutation(server.url, 'auth.login', { username: user.username, password: 'Tr1cky-passphrase' })
    finished.push('login')
    expect(login.status).toBe(200)
    const answers = await Promise.all(flood)

    const statuses = answers.map((res) => res.status)
    expect(statuses.every((status) => [200, 429, 503].includes(status))).toBe(true)
    // the register scope's default rate: 20 an hour from one address
    expect(statuses.filter((status) => status === 429)).toHaveLength(20)
    // the queue's bound: more than a second of hashing ahead is refused at once, with a wait
    const busy = answers.filter((res) => res.status === 503)
    expect(busy.length).toBeGreaterThan(0)
    for (const res of busy) {
      const seconds = Number(res.headers.get('retry-after'))
      expect(seconds).toBeGreaterThanOrEqual(1)
      expect(res.body.error).toMatchObject({
        message: `The server is busy; try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
        data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, path: 'auth.register', reason: 'UNAVAILABLE' },
      })
    }
    // the login overtook the registrations that were waiting when it came
    const admitted = finished.filter((name) => name.startsWith('register:'))
    expect(admitted.length).toBeGreaterThanOrEqual(2)
    expect(finished.indexOf('login')).toBeLessThan(finished.length - 1)
  }, 60_000)
})
