import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { TEST_SECRET_KEY } from './testing.js'
import type { AuthService } from './service.js'
import { createAuthService } from './service.js'
import { throttledError } from './throttle/index.js'

// Window-aligned, so waits are exact: 900 s windows start at 00:00, 00:15, …
const T0 = Date.parse('2026-01-01T00:00:00Z')
let now = new Date(T0)
const clock = () => now
const PASSWORD = 'Tr1cky-passphrase'
// The delays login asks for, instead of waiting them out.
const delays: number[] = []
const sleep = (ms: number) => {
  delays.push(ms)
  return Promise.resolve()
}

describe(`${TEST_BACKEND}: login brute-force protection`, () => {
  let t: TestDatabase
  let auth: AuthService
  let n = 0
  async function newUser() {
    n += 1
    const username = `victim${n}`
    await auth.register({ username, password: PASSWORD })
    return username
  }
  const fail = (username: string, address?: string) =>
    auth.login({ username, password: 'wrong-passphrase' }, { address }).catch((e: unknown) => e)

  beforeAll(async () => {
    t = await createTestDb()
    auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
      loginFailureRate: { limit: 3, windowSeconds: 900 },
      sleep,
    })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  /** @see the throttling note in docs/design.md: check-then-count let parallel guesses through */
  it('should not let concurrent wrong guesses overrun the limit', async () => {
    now = new Date(T0 + 50_000)
    const username = await newUser()
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => fail(username)))
    const codes = outcomes.map((e) => (e as { code: string }).code)
    expect(codes.filter((c) => c === 'INVALID_CREDENTIALS')).toHaveLength(3)
    expect(codes.filter((c) => c === 'THROTTLED')).toHaveLength(9)
  })

  it('counts every spelling of a name as that name: fullwidth variants share its failures', async () => {
    // attack: once lookups normalise, "ｖictim1", "vｉctim1", … would each get a fresh set of guesses
    now = new Date(T0 + 55_000)
    const username = await newUser()
    const fullwidth = (c: string) => String.fromCharCode(c.charCodeAt(0) + 0xfee0) // 'v' → 'ｖ', '1' → '１'
    const spellings = [
      username,
      fullwidth(username[0]!) + username.slice(1),
      username.slice(0, 1) + fullwidth(username[1]!) + username.slice(2),
      username.slice(0, -1) + fullwidth(username.at(-1)!),
    ]
    const codes: string[] = []
    for (const spelling of spellings) codes.push(((await fail(spelling)) as { code: string }).code)
    expect(codes).toEqual(['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'THROTTLED'])
  })

  it('should not count concurrent successful logins', async () => {
    now = new Date(T0 + 60_000)
    const username = await newUser()
    const ok = await Promise.all(Array.from({ length: 3 }, () => auth.login({ username, password: PASSWORD })))
    expect(ok).toHaveLength(3)
    // all three failure slots are still free
    for (let i = 0; i < 3; i += 1) await expect(fail(username)).resolves.toMatchObject({ code: 'INVALID_CREDENTIALS' })
    await expect(fail(username)).resolves.toMatchObject({ code: 'THROTTLED' })
  })

  it('refuses even the right password from an address that used up its guesses at a name, with the wait', async () => {
    now = new Date(T0 + 100_000)
    const username = await newUser()
    const address = '198.51.100.77'
    for (let i = 0; i < 3; i += 1) {
      await expect(fail(username, address)).resolves.toMatchObject({ code: 'INVALID_CREDENTIALS' })
    }
    const refused = auth.login({ username, password: PASSWORD }, { address })
    await expect(refused).rejects.toMatchObject({
      code: 'THROTTLED',
      message: 'Request was throttled. Expected available in 800 seconds.',
      retryAfterSeconds: 800,
    })
    // the window passes: the right password works again
    now = new Date(T0 + 900_000)
    await expect(auth.login({ username, password: PASSWORD }, { address })).resolves.toMatchObject({ user: { username } })
  })

  /** @see issue 16, item 5: ten wrong passwords from ten addresses locked the owner out everywhere */
  it('attack: guesses at a name from many addresses never refuse its right password from a clean one', async () => {
    now = new Date(T0 + 6 * 900_000)
    const username = await newUser()
    delays.length = 0
    for (let i = 1; i <= 6; i += 1) {
      await expect(fail(username, `203.0.113.${i}`)).resolves.toMatchObject({ code: 'INVALID_CREDENTIALS' })
    }
    await expect(auth.login({ username, password: PASSWORD }, { address: '198.51.100.200' })).resolves.toMatchObject({
      user: { username },
    })
    // Past the limit (3) each further attempt at the name waits twice as long as the one before.
    expect(delays).toEqual([1000, 2000, 4000, 8000])
  })

  it('caps the growing delay, and a success does not reset it: only the window does', async () => {
    now = new Date(T0 + 7 * 900_000)
    const username = await newUser()
    for (let i = 1; i <= 9; i += 1) await fail(username, `203.0.113.${i}`)
    delays.length = 0
    await auth.login({ username, password: PASSWORD }, { address: '198.51.100.201' })
    await fail(username, '203.0.113.50')
    expect(delays).toEqual([10_000, 10_000])
    now = new Date(T0 + 8 * 900_000)
    delays.length = 0
    await auth.login({ username, password: PASSWORD }, { address: '198.51.100.201' })
    expect(delays).toEqual([])
  })

  it('attack: one IPv6 /64 is one address for the failure counters', async () => {
    now = new Date(T0 + 9 * 900_000)
    for (let i = 1; i <= 3; i += 1) await fail(await newUser(), `2001:db8:0:9::${i}`)
    await expect(fail(await newUser(), '2001:db8:0:9:ffff::1')).resolves.toMatchObject({ code: 'THROTTLED' })
    await expect(fail(await newUser(), '2001:db8:0:a::1')).resolves.toMatchObject({ code: 'INVALID_CREDENTIALS' })
  })

  it('never counts a success, and a success does not reset the failures', async () => {
    now = new Date(T0 + 2 * 900_000)
    const username = await newUser()
    for (let i = 0; i < 20; i += 1) await auth.login({ username, password: PASSWORD }, { address: '198.51.100.1' })
    await fail(username)
    await fail(username)
    await auth.login({ username, password: PASSWORD })
    await expect(fail(username)).resolves.toMatchObject({ code: 'INVALID_CREDENTIALS' })
    await expect(auth.login({ username, password: PASSWORD })).rejects.toMatchObject({ code: 'THROTTLED' })
  })

  it('counts failures per address across usernames, unknown ones included', async () => {
    now = new Date(T0 + 3 * 900_000)
    const address = '203.0.113.9'
    await fail(await newUser(), address)
    await fail('no-such-user', address)
    await fail(await newUser(), address)
    const fresh = await newUser()
    await expect(auth.login({ username: fresh, password: PASSWORD }, { address })).rejects.toMatchObject({
      code: 'THROTTLED',
    })
    // the same user from another address is fine: only the address is used up
    await expect(auth.login({ username: fresh, password: PASSWORD }, { address: '203.0.113.10' })).resolves.toBeTruthy()
  })

  it('counts an unknown username like a known one', async () => {
    now = new Date(T0 + 4 * 900_000)
    for (let i = 0; i < 3; i += 1) await fail('ghost')
    await expect(fail('ghost')).resolves.toMatchObject({ code: 'THROTTLED' })
  })

  it('can be turned off', async () => {
    const open = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
      loginFailureRate: null,
      sleep,
    })
    now = new Date(T0 + 5 * 900_000)
    const username = await newUser()
    for (let i = 0; i < 5; i += 1) {
      await expect(open.login({ username, password: 'wrong-passphrase' })).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
      })
    }
    await expect(open.login({ username, password: PASSWORD })).resolves.toBeTruthy()
  })

  it("words the refusal like DRF's Throttled", () => {
    expect(throttledError(1).message).toBe('Request was throttled. Expected available in 1 second.')
    expect(throttledError(42)).toMatchObject({
      code: 'THROTTLED',
      message: 'Request was throttled. Expected available in 42 seconds.',
      retryAfterSeconds: 42,
    })
  })
})
