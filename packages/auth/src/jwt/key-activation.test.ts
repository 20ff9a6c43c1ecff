/**
 * @see issue 16, item 9: `rotatekeys` signed with the new key at once, but JWKS clients cache the
 * set (jose's remote set waits 30 s before it refetches, HTTP caches honour max-age=300), so
 * downstream services refused every new token until their cache expired. A rotated key is now
 * published (and verifies) at once and signs only after the activation delay.
 */
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
const DELAY_SECONDS = 300

describe(`${TEST_BACKEND}: a rotated key signs only after KEY_ACTIVATION_DELAY`, () => {
  let t: TestDatabase
  let now = new Date('2026-03-01T00:00:00Z')
  const clock = () => now
  const later = (seconds: number) => new Date(now.getTime() + seconds * 1000)

  beforeAll(async () => {
    t = await createTestDb()
  })
  afterAll(() => t[Symbol.asyncDispose]())

  async function ring() {
    const keys = new KeyRing({
      secrets: TEST_SECRETS,
      db: t.db,
      algorithm: 'EdDSA',
      clock,
      activationDelaySeconds: DELAY_SECONDS,
    })
    await keys.init()
    return keys
  }
  const signedKid = async (keys: KeyRing) => {
    const { token } = await signToken({ userId: 1, tokenType: 'access' }, { keys, clock, lifetimeSeconds: 300 })
    return decodeProtectedHeader(token).kid
  }

  it('attack: a new key is in JWKS at once but signs nothing until the delay has passed', async () => {
    const keys = await ring()
    const oldKid = keys.signingKey().kid
    const newKid = await keys.rotate()
    // published at once, so JWKS caches pick it up before any token names it
    expect(keys.jwks().keys.map((k) => k.kid)).toContain(newKid)
    expect(await signedKid(keys)).toBe(oldKid)
    now = later(DELAY_SECONDS - 1)
    expect(await signedKid(keys)).toBe(oldKid)
    now = later(1)
    expect(await signedKid(keys)).toBe(newKid)
  })

  it('every process switches at the same moment, with no reload: the time is in the database', async () => {
    const a = await ring()
    const newKid = await a.rotate()
    const b = await ring() // another process, started after the rotation
    expect(await signedKid(b)).not.toBe(newKid)
    now = later(DELAY_SECONDS)
    expect([await signedKid(a), await signedKid(b)]).toEqual([newKid, newKid])
  })

  it('a pending key verifies at once: a process whose clock runs ahead may already sign with it', async () => {
    const keys = await ring()
    const newKid = await keys.rotate()
    const ahead = await ring()
    const aheadClock = () => later(DELAY_SECONDS)
    const { token } = await signToken(
      { userId: 7, tokenType: 'access' },
      { keys: ahead, clock: aheadClock, lifetimeSeconds: 300 },
    )
    // signed at "now + delay" by the process ahead; checked here with its own clock's iat
    expect(decodeProtectedHeader(token).kid).toBeDefined()
    await expect(verifyToken(token, { keys, clock: aheadClock, expectedTypes: ['access'] })).resolves.toMatchObject({
      userId: 7,
    })
    expect(keys.jwks().keys.map((k) => k.kid)).toContain(newKid)
  })

  it('retiring the signing key while the new one is pending makes the pending one sign at once', async () => {
    const keys = await ring()
    const oldKid = keys.signingKey().kid
    const newKid = await keys.rotate()
    // a leaked key is retired at once: something must still sign
    for (const kid of keys.jwks().keys.map((k) => k.kid)) if (kid !== newKid && kid !== oldKid) await keys.retire(kid as string)
    await keys.retire(oldKid)
    expect(await signedKid(keys)).toBe(newKid)
  })
})
