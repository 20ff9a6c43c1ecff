import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import bcrypt from 'bcrypt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { TEST_SECRET_KEY } from './testing.js'
import type { AuthService } from './service.js'
import { createAuthService } from './service.js'

let now = new Date('2026-01-01T00:00:00Z')
const clock = () => now

describe(`${TEST_BACKEND}: auth service`, () => {
  let t: TestDatabase
  let auth: AuthService
  beforeAll(async () => {
    t = await createTestDb()
    auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  it('stores a bcrypt_sha256 hash, never the password', async () => {
    await auth.register({ username: 'hashme', password: 'Tr1cky-passphrase' })
    const row = await t.db
      .selectFrom('users')
      .select('password')
      .where('username', '=', 'hashme')
      .executeTakeFirstOrThrow()
    expect(row.password).toMatch(/^bcrypt_sha256\$\$2b\$04\$/)
    expect(row.password).not.toContain('Tr1cky')
  })

  it('rehashes on login when PASSWORD_HASH_COST changed', async () => {
    await auth.register({ username: 'rehash', password: 'Tr1cky-passphrase' })
    const stronger = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 5,
      jwt: { algorithm: 'EdDSA' },
    })
    await stronger.login({ username: 'rehash', password: 'Tr1cky-passphrase' })
    const row = await t.db
      .selectFrom('users')
      .select('password')
      .where('username', '=', 'rehash')
      .executeTakeFirstOrThrow()
    expect(bcrypt.getRounds(row.password.slice('bcrypt_sha256$'.length))).toBe(5)
    // and the new hash still verifies
    await expect(stronger.login({ username: 'rehash', password: 'Tr1cky-passphrase' })).resolves.toBeTruthy()
  })

  it('records last_login', async () => {
    await auth.register({ username: 'lastlogin', password: 'Tr1cky-passphrase' })
    await auth.login({ username: 'lastlogin', password: 'Tr1cky-passphrase' })
    const row = await t.db
      .selectFrom('users')
      .select('last_login')
      .where('username', '=', 'lastlogin')
      .executeTakeFirstOrThrow()
    expect(row.last_login?.toISOString()).toBe(now.toISOString())
  })

  it('refuses login for unknown, wrong and inactive alike', async () => {
    await auth.register({ username: 'gone', password: 'Tr1cky-passphrase' })
    await t.db.updateTable('users').set({ is_active: false }).where('username', '=', 'gone').execute()
    for (const [username, password] of [
      ['nobody', 'Tr1cky-passphrase'],
      ['hashme', 'wrong-passphrase'],
      ['gone', 'Tr1cky-passphrase'],
    ] as const) {
      await expect(auth.login({ username, password })).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
        message: 'Invalid credentials',
      })
    }
  })

  it('refresh tokens expire by the injected clock', async () => {
    await auth.register({ username: 'clocked', password: 'Tr1cky-passphrase' })
    const { refresh } = await auth.login({ username: 'clocked', password: 'Tr1cky-passphrase' })
    const saved = now
    now = new Date(saved.getTime() + 7 * 86_400_000 + 1000)
    await expect(auth.refresh(refresh)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' })
    now = saved
    await expect(auth.refresh(refresh)).resolves.toMatchObject({ access: expect.any(String) })
  })

  /** The user's token.refreshed and token.reuse_detected rows. */
  const tokenEvents = (username: string) =>
    t.db
      .selectFrom('audit_events')
      .innerJoin('users', 'users.id', 'audit_events.user_id')
      .select(['audit_events.event', 'audit_events.username', 'audit_events.detail'])
      .where('users.username', '=', username)
      .where('audit_events.event', 'in', ['token.refreshed', 'token.reuse_detected'])
      .execute()

  it('should rotate a refresh token once under concurrent rotation, the others getting grace siblings', async () => {
    await auth.register({ username: 'racer', password: 'Tr1cky-passphrase' })
    const { refresh } = await auth.login({ username: 'racer', password: 'Tr1cky-passphrase' })
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => auth.refresh(refresh)))
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(20)
    // Each statement writes its own audit row: one rotation and nineteen siblings, no reuse.
    const events = await tokenEvents('racer')
    const familyId = events[0]?.detail['familyId']
    expect(familyId).toEqual(expect.any(String))
    const rotation = { event: 'token.refreshed', username: 'racer', detail: { familyId } }
    const sibling = { event: 'token.refreshed', username: 'racer', detail: { familyId, grace: true } }
    expect(events.filter((e) => e.detail['grace'] === undefined)).toEqual([rotation])
    expect(events.filter((e) => e.detail['grace'] === true)).toEqual(Array(19).fill(sibling))
  })

  it('should only redeem a refresh token once under concurrent rotation without the reuse grace', async () => {
    const strict = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA', refreshReuseIntervalSeconds: 0 },
    })
    await strict.register({ username: 'strict', password: 'Tr1cky-passphrase' })
    const { refresh } = await strict.login({ username: 'strict', password: 'Tr1cky-passphrase' })
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => strict.refresh(refresh)))
    const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
    expect(won).toHaveLength(1)
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    // The winner's row, and the reuse once: by the loser that revoked the family (the winner's token with it).
    const events = await tokenEvents('strict')
    expect(events.map((e) => e.event).sort()).toEqual(['token.refreshed', 'token.reuse_detected'])
    await expect(strict.refresh(won[0]!.refresh)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
  })

  it('rotates without blacklisting under BLACKLIST_AFTER_ROTATION=false: a rotated token stays valid, a logged-out one does not', async () => {
    const lenient = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA', blacklistAfterRotation: false },
    })
    await lenient.register({ username: 'lenient', password: 'Tr1cky-passphrase' })
    const { refresh } = await lenient.login({ username: 'lenient', password: 'Tr1cky-passphrase' })
    const first = await lenient.refresh(refresh)
    expect(first.refresh).not.toBe(refresh)
    // simplejwt without the blacklist app: the old token keeps working until it expires.
    await expect(lenient.refresh(refresh)).resolves.toMatchObject({ access: expect.any(String) })
    await expect(lenient.refresh(first.refresh)).resolves.toMatchObject({ access: expect.any(String) })
    // This path records token.refreshed after its transaction (the default one inside its statement).
    const refreshed = await t.db
      .selectFrom('audit_events')
      .select('username')
      .where('event', '=', 'token.refreshed')
      .where('username', '=', 'lenient')
      .execute()
    expect(refreshed).toHaveLength(3)
    // Logout still ends the login (simplejwt checks the blacklist whenever its app is installed).
    await lenient.logout(first.refresh)
    for (const token of [refresh, first.refresh]) {
      await expect(lenient.refresh(token)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    }
  })

  it('changing the password ends every refresh token of the user', async () => {
    await auth.register({ username: 'changer', password: 'Tr1cky-passphrase' })
    const a = await auth.login({ username: 'changer', password: 'Tr1cky-passphrase' })
    const b = await auth.login({ username: 'changer', password: 'Tr1cky-passphrase' })
    await auth.changePassword('changer', 'N3w-passphrase!')
    for (const pair of [a, b])
      await expect(auth.refresh(pair.refresh)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    await expect(auth.login({ username: 'changer', password: 'Tr1cky-passphrase' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
  })

  it('validates usernames like Django', async () => {
    for (const username of ['bad user!', '', 'x'.repeat(151), 'semi;colon']) {
      await expect(auth.register({ username, password: 'Tr1cky-passphrase' })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        fieldErrors: { username: [expect.any(String)] },
      })
    }
    await expect(auth.register({ username: 'émilie.o+tag@x-y_z', password: 'Tr1cky-passphrase' })).resolves.toBeTruthy()
  })

  it('normalises usernames to NFKC as Django does: a look-alike of a taken name is taken', async () => {
    // attack: "ａｄｍｉｎ" (fullwidth) or a decomposed "é" would be a second account that reads the same
    await auth.register({ username: 'admin', password: 'Tr1cky-passphrase' })
    await expect(auth.register({ username: 'ａｄｍｉｎ', password: 'Tr1cky-passphrase' })).rejects.toMatchObject({
      code: 'USERNAME_TAKEN',
    })
    await auth.register({ username: 'ren\u00e9', password: 'Tr1cky-passphrase' })
    await expect(auth.register({ username: 'rene\u0301', password: 'Tr1cky-passphrase' })).rejects.toMatchObject({
      code: 'USERNAME_TAKEN',
    })
    // stored normalised, and found by any form of the name
    const created = await auth.register({ username: 'ｆｕｌｌ', password: 'Tr1cky-passphrase' })
    expect(created.username).toBe('full')
    await expect(auth.login({ username: 'ｆｕｌｌ', password: 'Tr1cky-passphrase' })).resolves.toMatchObject({
      user: { username: 'full' },
    })
    // a name that only grows past 150 characters once normalised is refused, not truncated
    await expect(auth.register({ username: '\ufdfa'.repeat(10), password: 'Tr1cky-passphrase' })).rejects.toMatchObject(
      {
        code: 'INVALID_INPUT',
      },
    )
  })

  it('only one of two simultaneous registrations of a name succeeds', async () => {
    const outcomes = await Promise.allSettled([
      auth.register({ username: 'twin', password: 'Tr1cky-passphrase' }),
      auth.register({ username: 'twin', password: 'Tr1cky-passphrase' }),
    ])
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
    const rejected = outcomes.find((o) => o.status === 'rejected')
    expect(rejected?.reason).toMatchObject({ code: 'USERNAME_TAKEN' })
  })

  it('flushexpiredtokens removes only expired rows', async () => {
    await auth.register({ username: 'flusher', password: 'Tr1cky-passphrase' })
    await auth.login({ username: 'flusher', password: 'Tr1cky-passphrase' })
    const saved = now
    now = new Date(saved.getTime() + 8 * 86_400_000)
    const flusher = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
    const deleted = await flusher.flushExpiredTokens()
    now = saved
    expect(deleted.tokens).toBeGreaterThan(0)
    const left = await t.db
      .selectFrom('outstanding_tokens')
      .select('jti')
      .where('expires_at', '<', new Date(saved.getTime() + 8 * 86_400_000))
      .execute()
    expect(left).toEqual([])
  })
})
