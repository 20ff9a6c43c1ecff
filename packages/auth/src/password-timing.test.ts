/**
 * @see issue 16, item 12: an imported PBKDF2 user and an unknown name took different times to
 * fail (PBKDF2 at Django's iteration count against one bcrypt compare), so a stopwatch told which
 * names were imported users. Every failed check is now padded to the slowest kind measured; the
 * pads are recorded here instead of slept.
 */
import { pbkdf2Sync } from 'node:crypto'

import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuthService } from './service.js'
import { FailureFloor } from './password/index.js'
import { createAuthService } from './service.js'
import { TEST_SECRET_KEY } from './testing.js'

const PASSWORD = 'Tr1cky-passphrase'
// Slow enough to stand out against bcrypt at cost 4 (about a millisecond).
const ITERATIONS = 200_000

function djangoPbkdf2(password: string, iterations: number): string {
  const salt = 'seasalt2024'
  const hash = pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64')
  return `pbkdf2_sha256$${iterations}$${salt}$${hash}`
}

describe(`${TEST_BACKEND}: failed logins take the same time whatever the stored hash`, () => {
  let t: TestDatabase
  let auth: AuthService
  const pads: number[] = []
  const floor = new FailureFloor({ sleep: (ms) => Promise.resolve(void pads.push(ms)) })
  const fail = (username: string) =>
    auth.login({ username, password: 'wrong-passphrase' }).then(
      () => 'logged in',
      (e: { code: string }) => e.code,
    )

  beforeAll(async () => {
    t = await createTestDb()
    await t.db
      .insertInto('users')
      .values({ username: 'imported', password: djangoPbkdf2(PASSWORD, ITERATIONS) })
      .execute()
    auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
      loginFailureRate: null,
      passwordFailureFloor: floor,
    })
    await auth.register({ username: 'native', password: PASSWORD })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  it('attack: an unknown name fails as slowly as an imported PBKDF2 user, from the first try', async () => {
    pads.length = 0
    // the first failed login of all: the PBKDF2 count was measured before it was checked
    expect(await fail('nobody-here')).toBe('INVALID_CREDENTIALS')
    expect(floor.targetMs).toBeGreaterThan(0)
    expect(pads).toHaveLength(1)
    // the unknown name's bcrypt compare plus its pad come to the PBKDF2 check's time
    expect(pads[0]).toBeGreaterThan(floor.targetMs / 2)
    expect(pads[0]).toBeLessThanOrEqual(floor.targetMs)
  })

  it('pads a wrong password of a bcrypt user the same way, and a PBKDF2 failure hardly at all', async () => {
    pads.length = 0
    expect(await fail('native')).toBe('INVALID_CREDENTIALS')
    const nativePad = pads[0] ?? 0
    expect(nativePad).toBeGreaterThan(floor.targetMs / 2)
    pads.length = 0
    expect(await fail('imported')).toBe('INVALID_CREDENTIALS')
    // The PBKDF2 check is itself the slow kind: at most the drift of its own running mean (a
    // fifth of a change in its time) is padded, always less than the bcrypt failure got. Compared
    // with each other, not with a time, so a loaded machine moves both alike.
    expect(Math.max(0, ...pads)).toBeLessThan(nativePad)
  })

  it('never pads a success', async () => {
    pads.length = 0
    await auth.login({ username: 'native', password: PASSWORD })
    expect(pads).toEqual([])
  })
})
