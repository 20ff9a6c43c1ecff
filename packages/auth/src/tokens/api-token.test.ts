import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import * as nodeCrypto from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import type { AuthService } from '../service.js'
import { createAuthService } from '../service.js'
import { TEST_SECRET_KEY } from '../testing.js'
import { generateApiToken, hashApiTokenSecret, parseApiToken } from './api-token.js'
import { drfTokenRow } from './drf-token.js'

// Spy on the real constant-time compare, so a test can prove the secret goes through it.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof nodeCrypto>()
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) }
})

let now = new Date('2026-01-01T00:00:00Z')
const clock = () => now
const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000))
const PASSWORD = 'Tr1cky-passphrase'

describe('api token format', () => {
  it('is <24 hex id>.<64 hex secret>, and every key is different', () => {
    const keys = new Set(Array.from({ length: 50 }, () => generateApiToken().key))
    expect(keys.size).toBe(50)
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{24}\.[0-9a-f]{64}$/)
  })

  it('stores the SHA-256 of the secret, which is not derivable from the id', () => {
    const { id, key, secretHash } = generateApiToken()
    const secret = key.slice(id.length + 1)
    expect(secretHash).toBe(nodeCrypto.createHash('sha256').update(secret).digest('hex'))
    expect(hashApiTokenSecret(secret)).toBe(secretHash)
    expect(secretHash).not.toContain(secret)
  })

  it('refuses anything that is not a key without looking further', () => {
    for (const value of [
      '',
      'abc',
      'a'.repeat(39),
      'A'.repeat(40),
      `${'a'.repeat(40)} `,
      `${'a'.repeat(24)}.${'b'.repeat(63)}`,
      `${'A'.repeat(24)}.${'b'.repeat(64)}`,
    ]) {
      expect(parseApiToken(value)).toBeNull()
    }
  })

  it("reads DRF's 40-hex key as its own secret, under the id its digest gives", () => {
    const key = 'a'.repeat(40)
    const digest = nodeCrypto.createHash('sha256').update(key).digest('hex')
    expect(parseApiToken(key)).toEqual({ id: digest.slice(0, 24), secret: key })
    expect(drfTokenRow(key)).toEqual({ id: digest.slice(0, 24), secretHash: digest })
  })
})

describe(`${TEST_BACKEND}: api tokens in the auth service`, () => {
  let t: TestDatabase
  let auth: AuthService
  let n = 0
  async function newUser() {
    n += 1
    const user = await auth.register({ username: `keyholder${n}`, password: PASSWORD })
    return user
  }

  beforeAll(async () => {
    t = await createTestDb()
    auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
      loginFailureRate: { limit: 3, windowSeconds: 900 },
    })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  const row = (id: string) => t.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

  it('shows the key once and stores only the hash of its secret', async () => {
    const user = await newUser()
    const { key, token } = await auth.createApiToken(user.id, { name: 'ci' })
    const [id, secret] = key.split('.') as [string, string]
    expect(token).toEqual({ id, name: 'ci', createdAt: now.toISOString(), expiresAt: null, lastUsedAt: null })
    const stored = await row(id)
    expect(stored.secret_hash).toBe(hashApiTokenSecret(secret))
    expect(JSON.stringify(stored)).not.toContain(secret)
    // Lists never carry the key again.
    const listed = await auth.listApiTokens(user.id)
    expect(listed).toEqual([token])
    expect(JSON.stringify(listed)).not.toContain(secret)
  })

  it('compares the secret with crypto.timingSafeEqual, never ===', async () => {
    const user = await newUser()
    const { key } = await auth.createApiToken(user.id, { name: 'ct' })
    const compare = vi.mocked(nodeCrypto.timingSafeEqual)
    compare.mockClear()
    await expect(auth.authenticateApiToken(key)).resolves.toMatchObject({ id: user.id })
    expect(compare).toHaveBeenCalledTimes(1)
    const [presented, stored] = compare.mock.calls[0] as [Buffer, Buffer]
    expect(presented.length).toBe(32)
    expect(stored.length).toBe(32)

    compare.mockClear()
    const wrong = `${key.slice(0, 25)}${key.at(25) === 'a' ? 'b' : 'a'}${key.slice(26)}`
    await expect(auth.authenticateApiToken(wrong)).rejects.toMatchObject({
      code: 'API_TOKEN_INVALID',
      message: 'Invalid token.',
    })
    expect(compare).toHaveBeenCalledTimes(1)
  })

  it('refuses unknown, malformed and wrong-secret keys alike with "Invalid token."', async () => {
    const user = await newUser()
    const { key } = await auth.createApiToken(user.id, { name: 'x' })
    const unknown = generateApiToken().key
    const wrongSecret = `${key.split('.')[0]}.${generateApiToken().key.split('.')[1]}`
    for (const value of [unknown, wrongSecret, 'nope', `${key} `, key.toUpperCase()]) {
      await expect(auth.authenticateApiToken(value)).rejects.toMatchObject({
        code: 'API_TOKEN_INVALID',
        message: 'Invalid token.',
      })
    }
  })

  it('stops accepting a key at its expiry, by the injected clock', async () => {
    const user = await newUser()
    const expiresAt = new Date(now.getTime() + 3600_000)
    const { key, token } = await auth.createApiToken(user.id, { name: 'short', expiresAt })
    expect(token.expiresAt).toBe(expiresAt.toISOString())
    await expect(auth.authenticateApiToken(key)).resolves.toMatchObject({ id: user.id })
    advance(3599)
    await expect(auth.authenticateApiToken(key)).resolves.toMatchObject({ id: user.id })
    advance(1)
    await expect(auth.authenticateApiToken(key)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
  })

  it('refuses an expiry that is not in the future', async () => {
    const user = await newUser()
    await expect(
      auth.createApiToken(user.id, { name: 'past', expiresAt: new Date(now.getTime() - 1) }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      fieldErrors: { expiresAt: ['Ensure this date is in the future.'] },
    })
  })

  it('writes lastUsedAt at most once a minute per token', async () => {
    const user = await newUser()
    const { key, token } = await auth.createApiToken(user.id, { name: 'busy' })
    const updates = vi.spyOn(t.db, 'updateTable')
    const start = now
    await auth.authenticateApiToken(key)
    expect((await row(token.id)).last_used_at?.toISOString()).toBe(start.toISOString())
    expect(updates).toHaveBeenCalledTimes(1)

    // Many uses within the minute: no writes at all.
    for (let i = 0; i < 5; i += 1) {
      advance(10)
      await auth.authenticateApiToken(key)
    }
    expect(updates).toHaveBeenCalledTimes(1)
    expect((await row(token.id)).last_used_at?.toISOString()).toBe(start.toISOString())

    advance(10) // 60 s after the recorded use
    await auth.authenticateApiToken(key)
    expect(updates).toHaveBeenCalledTimes(2)
    expect((await row(token.id)).last_used_at?.toISOString()).toBe(now.toISOString())
    expect((await auth.listApiTokens(user.id))[0]?.lastUsedAt).toBe(now.toISOString())
    updates.mockRestore()
  })

  it('records a use once between processes that saw the same stale value', async () => {
    const user = await newUser()
    const { key, token } = await auth.createApiToken(user.id, { name: 'shared' })
    const other = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
    await Promise.all([auth.authenticateApiToken(key), other.authenticateApiToken(key)])
    expect((await row(token.id)).last_used_at?.toISOString()).toBe(now.toISOString())
  })

  it('stops a deactivated user\'s keys at once with "User inactive or deleted."', async () => {
    const user = await newUser()
    const { key } = await auth.createApiToken(user.id, { name: 'soon-off' })
    await expect(auth.authenticateApiToken(key)).resolves.toMatchObject({ id: user.id })
    await t.db.updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute()
    await expect(auth.authenticateApiToken(key)).rejects.toMatchObject({
      code: 'API_TOKEN_USER_INACTIVE',
      message: 'User inactive or deleted.',
    })
  })

  it("revokes one key, or all of a user's keys, and nobody else's", async () => {
    const alice = await newUser()
    const bob = await newUser()
    const a1 = await auth.createApiToken(alice.id, { name: 'one' })
    const a2 = await auth.createApiToken(alice.id, { name: 'two' })
    const b1 = await auth.createApiToken(bob.id, { name: 'bob' })

    await expect(auth.revokeApiToken(bob.id, a1.token.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await auth.revokeApiToken(alice.id, a1.token.id)
    await expect(auth.authenticateApiToken(a1.key)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
    await expect(auth.authenticateApiToken(a2.key)).resolves.toMatchObject({ id: alice.id })
    await expect(auth.revokeApiToken(alice.id, a1.token.id)).rejects.toMatchObject({ code: 'NOT_FOUND' })

    await auth.createApiToken(alice.id, { name: 'three' })
    expect(await auth.revokeAllApiTokens(alice.id)).toBe(2)
    expect(await auth.listApiTokens(alice.id)).toEqual([])
    await expect(auth.authenticateApiToken(a2.key)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
    await expect(auth.authenticateApiToken(b1.key)).resolves.toMatchObject({ id: bob.id })
  })

  it("obtain answers the user's one DRF key, the same each time, stored as a digest; named keys are left alone", async () => {
    const user = await newUser()
    const named = await auth.createApiToken(user.id, { name: 'default' }) // a name is only a label
    const first = await auth.obtainApiToken({ username: user.username, password: PASSWORD })
    const second = await auth.obtainApiToken({ username: user.username, password: PASSWORD })
    expect(first.token).toMatch(/^[0-9a-f]{40}$/)
    expect(second.token).toBe(first.token)
    await expect(auth.authenticateApiToken(first.token)).resolves.toMatchObject({ id: user.id })
    await expect(auth.authenticateApiToken(named.key)).resolves.toMatchObject({ id: user.id })
    const rows = await t.db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'is_default', 'secret_hash'])
      .where('user_id', '=', user.id)
      .execute()
    const { id, secretHash } = drfTokenRow(first.token)
    expect(rows.filter((r) => r.is_default)).toEqual([
      { id, name: 'default', is_default: true, secret_hash: secretHash },
    ])
    expect(rows).toHaveLength(2)
    expect(JSON.stringify(rows)).not.toContain(first.token)
  })

  it('obtain under concurrent calls: one row, and every call answers the same working key', async () => {
    const user = await newUser()
    // Three: a success in flight holds one of the three login slots until it is checked.
    const keys = await Promise.all(
      Array.from({ length: 3 }, () => auth.obtainApiToken({ username: user.username, password: PASSWORD })),
    )
    const rows = await t.db.selectFrom('api_tokens').select('id').where('user_id', '=', user.id).execute()
    expect(rows).toHaveLength(1)
    expect(new Set(keys.map((k) => k.token)).size).toBe(1)
    await expect(auth.authenticateApiToken(keys[0]?.token ?? '')).resolves.toMatchObject({ id: user.id })
  })

  it('compares a DRF key with crypto.timingSafeEqual, never ===', async () => {
    const user = await newUser()
    const { token } = await auth.obtainApiToken({ username: user.username, password: PASSWORD })
    const compare = vi.mocked(nodeCrypto.timingSafeEqual)
    compare.mockClear()
    await expect(auth.authenticateApiToken(token)).resolves.toMatchObject({ id: user.id })
    expect(compare).toHaveBeenCalledTimes(1)
    const [presented, stored] = compare.mock.calls[0] as [Buffer, Buffer]
    expect([presented.length, stored.length]).toEqual([32, 32])
    // Another 40-hex value misses: its digest names no row (or another row, whose digest differs).
    const other = `${token.slice(0, 39)}${token.endsWith('0') ? '1' : '0'}`
    await expect(auth.authenticateApiToken(other)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
  })

  it('revoking the DRF key (one or all) ends it for good: the next obtain answers another', async () => {
    const user = await newUser()
    const first = (await auth.obtainApiToken({ username: user.username, password: PASSWORD })).token
    const [row] = await auth.listApiTokens(user.id)
    await auth.revokeApiToken(user.id, row?.id ?? '')
    await expect(auth.authenticateApiToken(first)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
    const second = (await auth.obtainApiToken({ username: user.username, password: PASSWORD })).token
    expect(second).not.toBe(first)
    await expect(auth.authenticateApiToken(first)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
    // A named key revoked leaves the DRF key as it is.
    const named = await auth.createApiToken(user.id, { name: 'ci' })
    await auth.revokeApiToken(user.id, named.token.id)
    expect((await auth.obtainApiToken({ username: user.username, password: PASSWORD })).token).toBe(second)
    expect(await auth.revokeAllApiTokens(user.id)).toBe(1)
    const third = (await auth.obtainApiToken({ username: user.username, password: PASSWORD })).token
    expect(new Set([first, second, third]).size).toBe(3)
    await expect(auth.authenticateApiToken(second)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
  })

  it('a password change and logging out everywhere leave the DRF key working, as in DRF', async () => {
    const user = await newUser()
    const { token } = await auth.obtainApiToken({ username: user.username, password: PASSWORD })
    await auth.changePassword(user.username, 'An0ther-passphrase')
    await auth.logoutAll(user)
    await expect(auth.authenticateApiToken(token)).resolves.toMatchObject({ id: user.id })
    expect((await auth.obtainApiToken({ username: user.username, password: 'An0ther-passphrase' })).token).toBe(token)
  })

  it('keeps the key when SECRET_KEY changes with the old one in fallbacks; without it, a new key', async () => {
    const user = await newUser()
    const { token } = await auth.obtainApiToken({ username: user.username, password: PASSWORD })
    const options = { db: t.db, clock, passwordHashCost: 4, jwt: { algorithm: 'EdDSA' as const } }
    const NEW_KEY = 'a-new-secret-key-for-the-rotation-0123456789'
    const rotated = await createAuthService({ ...options, secretKey: NEW_KEY, secretKeyFallbacks: [TEST_SECRET_KEY] })
    expect((await rotated.obtainApiToken({ username: user.username, password: PASSWORD })).token).toBe(token)
    // A stored key none of the secret keys derives (made under one since dropped: here, a digest of
    // nothing) is replaced by the key under SECRET_KEY.
    await t.db
      .updateTable('api_tokens')
      .set({ secret_hash: '0'.repeat(64) })
      .where('user_id', '=', user.id)
      .execute()
    const replaced = (await rotated.obtainApiToken({ username: user.username, password: PASSWORD })).token
    expect(replaced).not.toBe(token)
    await expect(rotated.authenticateApiToken(replaced)).resolves.toMatchObject({ id: user.id })
    await expect(rotated.authenticateApiToken(token)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
  })

  it('a <24 hex>.<64 hex> default key from before keeps working next to the DRF key until revoked', async () => {
    const user = await newUser()
    // As migration 000014 leaves it: no longer the default, still a key.
    const legacy = generateApiToken()
    await t.db
      .insertInto('api_tokens')
      .values({ id: legacy.id, user_id: user.id, name: 'default', secret_hash: legacy.secretHash, created_at: now })
      .execute()
    const { token } = await auth.obtainApiToken({ username: user.username, password: PASSWORD })
    await expect(auth.authenticateApiToken(legacy.key)).resolves.toMatchObject({ id: user.id })
    await expect(auth.authenticateApiToken(token)).resolves.toMatchObject({ id: user.id })
    expect(await auth.revokeAllApiTokens(user.id)).toBe(2)
    await expect(auth.authenticateApiToken(legacy.key)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
  })

  it("obtain goes through login's brute-force protection", async () => {
    const user = await newUser()
    const wrong = () =>
      auth.obtainApiToken({ username: user.username, password: 'wrong-passphrase' }).catch((e: unknown) => e)
    for (let i = 0; i < 3; i += 1) expect(await wrong()).toMatchObject({ code: 'INVALID_CREDENTIALS' })
    expect(await wrong()).toMatchObject({ code: 'THROTTLED' })
    // The same counter as auth.login: the right password is refused too, through either door.
    await expect(auth.obtainApiToken({ username: user.username, password: PASSWORD })).rejects.toMatchObject({
      code: 'THROTTLED',
    })
    await expect(auth.login({ username: user.username, password: PASSWORD })).rejects.toMatchObject({
      code: 'THROTTLED',
    })
  })

  it('obtain refuses unknown, wrong and inactive alike, as login does', async () => {
    const user = await newUser()
    await t.db.updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute()
    for (const [username, password] of [
      ['nobody-here', PASSWORD],
      [user.username, PASSWORD],
    ] as const) {
      await expect(auth.obtainApiToken({ username, password })).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' })
    }
  })
})
