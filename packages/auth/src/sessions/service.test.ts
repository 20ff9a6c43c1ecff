import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuthService } from '../service.js'
import { AuthError } from '../errors.js'
import { createAuthService } from '../service.js'
import { TEST_SECRET_KEY } from '../testing.js'
import { parseSessionKey } from './key.js'

const START = new Date('2026-03-01T00:00:00Z')
let now = START
const clock = () => now
const at = (seconds: number) => new Date(START.getTime() + seconds * 1000)
const AGE = 3600
const meta = { address: '192.0.2.7', userAgent: 'curl/8.0' }

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof AuthError ? error.code : String(error)),
  )
}

describe(`${TEST_BACKEND}: sessions`, () => {
  let t: TestDatabase
  let auth: AuthService
  let counter = 0
  async function user() {
    counter += 1
    const username = `sess${counter}`
    await auth.createUser({ username, password: 'Tr1cky-passphrase' })
    return { username, password: 'Tr1cky-passphrase' }
  }
  const row = async (key: string) =>
    t.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', parseSessionKey(key)?.id ?? '')
      .executeTakeFirst()

  beforeAll(async () => {
    t = await createTestDb()
    auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
      sessions: { ageSeconds: AGE },
    })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  it('stores the id, the hash of the secret and the request, never the key', async () => {
    now = START
    const { key, user: publicUser, session } = await auth.createSession(await user(), meta)
    expect(key).toMatch(/^[0-9a-f]{32}\.[0-9a-f]{64}$/)
    const stored = await row(key)
    expect(stored).toMatchObject({ address: '192.0.2.7', user_agent: 'curl/8.0', user_id: publicUser.id })
    expect(stored?.secret_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(stored)).not.toContain(key.split('.')[1])
    expect(session).toEqual({
      id: key.split('.')[0],
      createdAt: START.toISOString(),
      lastUsedAt: START.toISOString(),
      expiresAt: at(AGE).toISOString(),
      address: '192.0.2.7',
      userAgent: 'curl/8.0',
    })
    const events = await t.db
      .selectFrom('audit_events')
      .select(['event', 'detail'])
      .where('user_id', '=', publicUser.id)
      .orderBy('id')
      .execute()
    expect(events.map((e) => e.event)).toEqual(['login.succeeded', 'session.created'])
    expect(events[0]?.detail).toMatchObject({ via: 'session' })
  })

  it('refuses a wrong password as auth.login does, and opens nothing', async () => {
    const who = await user()
    const before = await t.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    expect(await codeOf(auth.createSession({ ...who, password: 'wrong' }, meta))).toBe('INVALID_CREDENTIALS')
    const after = await t.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    expect(after.n).toEqual(before.n)
  })

  it('refuses unknown, wrong, malformed and expired keys alike', async () => {
    now = START
    const { key } = await auth.createSession(await user(), meta)
    const [id] = key.split('.')
    for (const bad of [
      '',
      'nope',
      `${id}.${'0'.repeat(64)}`,
      `${'0'.repeat(32)}.${'0'.repeat(64)}`,
      `${key}x`,
      key.toUpperCase(),
    ]) {
      expect(await codeOf(auth.authenticateSession(bad))).toBe('SESSION_INVALID')
    }
    now = at(AGE - 1)
    expect(await codeOf(auth.authenticateSession(key))).toBe('resolved')
    now = at(AGE * 2)
    expect(await codeOf(auth.authenticateSession(key))).toBe('SESSION_INVALID')
  })

  it('slides the expiry on use, writing at most once per interval, once among concurrent uses', async () => {
    now = START
    const { key } = await auth.createSession(await user(), meta)
    now = at(30)
    const early = await auth.authenticateSession(key)
    expect(await early.touch()).toBe(false)
    expect((await row(key))?.expires_at).toEqual(at(AGE))

    now = at(60)
    const racers = await Promise.all(Array.from({ length: 5 }, () => auth.authenticateSession(key)))
    const wrote = await Promise.all(racers.map((s) => s.touch()))
    expect(wrote.filter(Boolean)).toHaveLength(1)
    expect(await row(key)).toMatchObject({ last_used_at: at(60), expires_at: at(60 + AGE) })

    // Alive past its first expiry because it was used; then unused for a full age, it dies.
    now = at(AGE + 30)
    expect(await codeOf(auth.authenticateSession(key))).toBe('resolved')
    now = at(60 + AGE)
    expect(await codeOf(auth.authenticateSession(key))).toBe('SESSION_INVALID')
  })

  it('does not revive a session that expired between reading and writing', async () => {
    now = START
    const { key } = await auth.createSession(await user(), meta)
    now = at(AGE - 1)
    const verified = await auth.authenticateSession(key)
    await t.db
      .updateTable('sessions')
      .set({ expires_at: at(AGE - 2) })
      .where('id', '=', verified.id)
      .execute()
    expect(await verified.touch()).toBe(false)
  })

  it('reads the user every time: deactivation stops the session at once', async () => {
    now = START
    const who = await user()
    const { key } = await auth.createSession(who, meta)
    await t.db.updateTable('users').set({ is_active: false }).where('username', '=', who.username).execute()
    expect(await codeOf(auth.authenticateSession(key))).toBe('USER_INACTIVE')
  })

  it('ends every session of a user whose password changes', async () => {
    now = START
    const who = await user()
    const [a, b] = [await auth.createSession(who, meta), await auth.createSession(who, meta)]
    await auth.changePassword(who.username, 'Another-passphrase-1', { skipValidation: true })
    for (const { key } of [a, b]) expect(await codeOf(auth.authenticateSession(key))).toBe('SESSION_INVALID')
  })

  it('lists live sessions and revokes one, the others, or by logout', async () => {
    now = START
    const who = await user()
    const other = await user()
    const [a, b, c] = [
      await auth.createSession(who, meta),
      await auth.createSession(who, meta),
      await auth.createSession(who, meta),
    ]
    const theirs = await auth.createSession(other, meta)
    const userId = a.user.id
    expect((await auth.listSessions(userId)).map((s) => s.id)).toEqual(
      [a, b, c].map((s) => s.session.id).sort((x, y) => (x < y ? -1 : 1)),
    )

    expect(await codeOf(auth.revokeSession(userId, theirs.session.id))).toBe('NOT_FOUND')
    expect(await codeOf(auth.revokeSession(userId, 'missing'))).toBe('NOT_FOUND')
    expect(await codeOf(auth.authenticateSession(theirs.key))).toBe('resolved')

    await auth.revokeSession(userId, a.session.id, meta)
    expect(await codeOf(auth.authenticateSession(a.key))).toBe('SESSION_INVALID')
    expect(await auth.revokeOtherSessions(userId, b.session.id, meta)).toBe(1)
    expect((await auth.listSessions(userId)).map((s) => s.id)).toEqual([b.session.id])

    let checked = 0
    expect(await auth.endSession(b.key, meta, () => void (checked += 1))).toBe(true)
    expect(checked).toBe(1)
    expect(await auth.endSession(b.key, meta)).toBe(false)
    expect(await auth.listSessions(userId)).toEqual([])
    // A key whose secret is wrong ends nothing.
    expect(await auth.endSession(`${theirs.session.id}.${'0'.repeat(64)}`, meta)).toBe(false)
    expect(await codeOf(auth.authenticateSession(theirs.key))).toBe('resolved')
  })

  it('keeps the session when the logout check refuses', async () => {
    now = START
    const { key } = await auth.createSession(await user(), meta)
    const refuse = () => {
      throw new AuthError('CSRF_FAILED')
    }
    expect(await codeOf(auth.endSession(key, meta, refuse))).toBe('CSRF_FAILED')
    expect(await codeOf(auth.authenticateSession(key))).toBe('resolved')
  })

  it('ends the session a login replaces, and hides expired ones from the list', async () => {
    now = START
    const who = await user()
    const first = await auth.createSession(who, meta)
    const second = await auth.createSession(who, { ...meta, replacing: first.key })
    expect(await codeOf(auth.authenticateSession(first.key))).toBe('SESSION_INVALID')
    now = at(AGE)
    expect(await auth.listSessions(second.user.id)).toEqual([])
  })
})
