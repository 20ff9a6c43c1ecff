import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { SecretBox } from '../crypto/secret-box.js'
import { TEST_SECRET_KEY } from '../testing.js'
import { KeyRing } from './keys.js'
import { signToken } from './sign.js'
import { verifyToken } from './verify.js'

const TEST_SECRETS = new SecretBox({ secretKey: TEST_SECRET_KEY })

const T0 = new Date('2026-01-01T00:00:00Z')
const clock = () => T0

describe(`${TEST_BACKEND}: signing key rotation and retirement`, () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDb()
  })
  afterAll(() => t[Symbol.asyncDispose]())

  /** A ring with its own monotonic clock, in milliseconds, that the test moves. */
  async function ring(refreshIntervalMs = 1000) {
    const time = { ms: 0 }
    const keys = new KeyRing({
      secrets: TEST_SECRETS,
      db: t.db,
      algorithm: 'ES256',
      refreshIntervalMs,
      now: () => time.ms,
    })
    await keys.init()
    return { keys, time }
  }
  const sign = async (keys: KeyRing) =>
    (await signToken({ userId: 1, tokenType: 'access' }, { keys, clock, lifetimeSeconds: 300 })).token
  const verify = (keys: KeyRing, token: string) => verifyToken(token, { keys, clock, expectedTypes: ['access'] })
  const kidOf = (token: string) => decodeProtectedHeader(token).kid

  it('rotation: new tokens carry the new kid, old ones still verify; retirement refuses them at once', async () => {
    const { keys } = await ring()
    const old = await sign(keys)
    const oldKid = kidOf(old)!
    const newKid = await keys.rotate()
    const fresh = await sign(keys)
    expect(kidOf(fresh)).toBe(newKid)
    await expect(verify(keys, old)).resolves.toMatchObject({ userId: 1 })
    expect(
      keys
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
    ).toEqual([oldKid, newKid].sort())

    await keys.retire(oldKid)
    await expect(verify(keys, old)).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
      message: 'Token is invalid or expired',
    })
    await expect(verify(keys, fresh)).resolves.toMatchObject({ userId: 1 })
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([newKid])
    const active = await t.db
      .selectFrom('signing_keys')
      .select('kid')
      .where('algorithm', '=', 'ES256')
      .where('retired_at', 'is', null)
      .execute()
    expect(active.map((r) => r.kid)).toEqual([newKid])
  })

  it('another process stops accepting a retired key within the refresh interval, never later', async () => {
    const a = await ring(1000)
    const b = await ring(1000)
    const token = await sign(a.keys)
    await b.keys.rotate()
    await b.keys.retire(kidOf(token)!)
    // Fresh enough: a does not look, and still accepts the token it signed.
    a.time.ms = 499
    await expect(verify(a.keys, token)).resolves.toBeTruthy()
    // Past half the interval a re-read starts in the background; this verification does not wait.
    a.time.ms = 500
    await expect(verify(a.keys, token)).resolves.toBeTruthy()
    await a.keys.reload() // joins the background read
    await expect(verify(a.keys, token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })

    // Had nothing verified for a whole interval, the first verification waits for the re-read.
    const c = await ring(1000)
    const other = await sign(c.keys)
    const d = await ring(1000)
    await d.keys.rotate()
    await d.keys.retire(kidOf(other)!)
    c.time.ms = 1000
    await expect(verify(c.keys, other)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
  })

  it('signs with a key rotated in elsewhere once the interval has passed, never with a retired one', async () => {
    const a = await ring(1000)
    const b = await ring(1000)
    const before = kidOf(await sign(a.keys))!
    const rotated = await b.keys.rotate()
    a.time.ms = 400
    expect(kidOf(await sign(a.keys))).toBe(before) // still within the bound, and still a valid key
    await b.keys.retire(before)
    a.time.ms = 1000
    expect(kidOf(await sign(a.keys))).toBe(rotated)
  })

  it('re-reads single-flight: concurrent verifications share one query', async () => {
    let queries = 0
    const db = t.db.withPlugin({
      transformQuery: (args) => {
        queries += 1
        return args.node
      },
      transformResult: (args) => Promise.resolve(args.result),
    })
    const time = { ms: 0 }
    const keys = new KeyRing({
      secrets: TEST_SECRETS,
      db,
      algorithm: 'ES256',
      refreshIntervalMs: 1000,
      now: () => time.ms,
    })
    await keys.init()
    const token = await sign(keys)
    time.ms = 5000
    queries = 0
    await Promise.all(Array.from({ length: 20 }, () => verify(keys, token)))
    expect(queries).toBe(1)
  })

  it('refuses unknown, retired and last keys with one clear message each', async () => {
    await using own = await createTestDb()
    const keys = new KeyRing({ secrets: TEST_SECRETS, db: own.db, algorithm: 'EdDSA' })
    await keys.init()
    const only = keys.signingKey().kid
    await expect(keys.retire('nope')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'No signing key "nope".' })
    await expect(keys.retire(only)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: `Signing key "${only}" is the only active key; run rotatekeys first, then retire it.`,
    })
    await keys.rotate()
    await keys.retire(only)
    await expect(keys.retire(only)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `Signing key "${only}" is already retired.`,
    })
  })

  it('two retirements at once cannot leave no active key', async () => {
    await using own = await createTestDb()
    const keys = new KeyRing({ secrets: TEST_SECRETS, db: own.db, algorithm: 'EdDSA' })
    await keys.init()
    const first = keys.signingKey().kid
    const second = await keys.rotate()
    const outcomes = await Promise.allSettled([keys.retire(first), keys.retire(second)])
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
    expect(keys.jwks().keys).toHaveLength(1)
  })

  it('HS256 keys come from JWT_SECRET and cannot be retired', async () => {
    const keys = new KeyRing({ secrets: TEST_SECRETS, db: t.db, algorithm: 'HS256', secret: 's'.repeat(40) })
    await keys.init()
    await expect(keys.retire('hs256')).rejects.toThrow(TypeError)
  })
})
