import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import type { AuthService } from '../service.js'
import { createAuthService } from '../service.js'
import { TEST_SECRET_KEY } from '../testing.js'
import { drfTokenRow } from '../tokens/drf-token.js'
import { createAuditRecorder } from './audit.js'
import { listAuditEvents } from './list.js'

const T0 = Date.parse('2026-03-01T00:00:00Z')
const at = (seconds: number) => () => new Date(T0 + seconds * 1000)
const DAY = 86_400
const PASSWORD = 'Tr1cky-passphrase'

describe(`${TEST_BACKEND}: the audit log`, () => {
  let t: TestDatabase
  let auth: AuthService
  let n = 0
  const fresh = () => `aud${(n += 1)}`
  const rowsOf = (event: string, username: string) =>
    t.db
      .selectFrom('audit_events')
      .selectAll()
      .where('event', '=', event)
      .where('username', '=', username)
      .orderBy('id')
      .execute()

  /** The service's clock runs with real time, moved ahead by the tests that need it. */
  let aheadMs = 0
  beforeAll(async () => {
    t = await createTestDb()
    const clock = () => new Date(Date.now() + aheadMs)
    auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  it('writes one row per event, filling in the username from the user id in the same INSERT', async () => {
    const user = await auth.register({ username: fresh(), password: PASSWORD })
    const record = createAuditRecorder({ db: t.db, clock: at(0) })
    await record({
      event: 'api_token.revoked',
      userId: user.id,
      address: '203.0.113.9',
      userAgent: 'x'.repeat(600),
      detail: { id: 'abc' },
    })
    expect(await rowsOf('api_token.revoked', user.username)).toEqual([
      {
        id: expect.any(Number),
        created_at: new Date(T0),
        event: 'api_token.revoked',
        user_id: user.id,
        username: user.username,
        address: '203.0.113.9',
        user_agent: 'x'.repeat(512),
        detail: { id: 'abc' },
      },
    ])
  })

  it('never throws: a failed write goes to onError and the caller carries on', async () => {
    const errors: unknown[] = []
    const record = createAuditRecorder({ db: t.db, clock: at(0), onError: (e) => errors.push(e) })
    // no such user: the foreign key refuses the row
    await expect(record({ event: 'logout', userId: 2_000_000_000 })).resolves.toBeUndefined()
    expect(errors).toHaveLength(1)
    expect(await t.db.selectFrom('audit_events').select('id').where('user_id', '=', 2_000_000_000).execute()).toEqual(
      [],
    )
  })

  it('commits events recorded together in one INSERT, in the order they were recorded', async () => {
    const users = await Promise.all(
      [fresh(), fresh(), fresh()].map((u) => auth.register({ username: u, password: PASSWORD })),
    )
    const record = createAuditRecorder({ db: t.db, clock: at(0) })
    await Promise.all(users.map((user, i) => record({ event: 'permission.denied', userId: user.id, detail: { i } })))
    const rows = await sql<{ username: string; detail: { i: number }; tx: string }>`
      select username, detail, xmin::text as tx from audit_events
      where event = 'permission.denied' and user_id in (${sql.join(users.map((u) => u.id))}) order by id`.execute(t.db)
    expect(rows.rows.map((r) => [r.username, r.detail.i])).toEqual(users.map((u, i) => [u.username, i]))
    // one transaction wrote all three
    expect(new Set(rows.rows.map((r) => r.tx)).size).toBe(1)
  })

  it('loses only the bad row of a batch: the others are written and onError hears of the one', async () => {
    const errors: unknown[] = []
    const record = createAuditRecorder({ db: t.db, clock: at(0), onError: (e) => errors.push(e) })
    const [a, b] = [fresh(), fresh()]
    await Promise.all([
      record({ event: 'logout', username: a }),
      record({ event: 'logout', userId: 2_000_000_001 }), // no such user: the foreign key refuses it
      record({ event: 'logout', username: b }),
    ])
    expect(errors).toHaveLength(1)
    expect((await rowsOf('logout', a)).length + (await rowsOf('logout', b)).length).toBe(2)
  })

  it('prunes events past the retention in the background, at most once an hour per recorder', async () => {
    const name = fresh()
    const old = createAuditRecorder({ db: t.db, clock: at(-40 * DAY) })
    await old({ event: 'login.failed', username: name, detail: { old: 1 } })
    await createAuditRecorder({ db: t.db, clock: at(0) })({
      event: 'login.failed',
      username: name,
      detail: { keep: 1 },
    })

    let now = 0
    const pruning = createAuditRecorder({ db: t.db, clock: () => at(now)(), retentionSeconds: 30 * DAY })
    await pruning({ event: 'login.succeeded', username: fresh() })
    const details = async () => (await rowsOf('login.failed', name)).map((r) => r.detail)
    await vi.waitFor(async () => expect(await details()).toEqual([{ keep: 1 }]))

    // within the hour nothing is pruned, and a recorder without a retention never prunes
    await old({ event: 'login.failed', username: name, detail: { old: 2 } })
    now = 3599
    await pruning({ event: 'login.succeeded', username: fresh() })
    await createAuditRecorder({ db: t.db, clock: at(7200) })({ event: 'login.succeeded', username: fresh() })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await details()).toEqual([{ keep: 1 }, { old: 2 }])
    // an hour after the last prune it prunes again
    now = 3600
    await pruning({ event: 'login.succeeded', username: fresh() })
    await vi.waitFor(async () => expect(await details()).toEqual([{ keep: 1 }]))
  })

  it('lists newest first with filters and keyset pagination', async () => {
    const name = fresh()
    const other = fresh()
    const record = createAuditRecorder({ db: t.db, clock: at(0) })
    for (let i = 0; i < 5; i += 1) await record({ event: 'login.failed', username: name, detail: { i } })
    await record({ event: 'logout', username: name })
    await record({ event: 'login.failed', username: other })

    const first = await listAuditEvents(t.db, { username: name, event: 'login.failed', limit: 2 })
    expect(first.items.map((e) => e.detail)).toEqual([{ i: 4 }, { i: 3 }])
    expect(first.items[0]).toEqual({
      id: expect.any(Number),
      at: new Date(T0).toISOString(),
      event: 'login.failed',
      userId: null,
      username: name,
      address: null,
      userAgent: null,
      detail: { i: 4 },
    })
    expect(first.nextCursor).toBe(first.items[1]?.id)
    const second = await listAuditEvents(t.db, {
      username: name,
      event: 'login.failed',
      limit: 2,
      cursor: first.nextCursor ?? 0,
    })
    expect(second.items.map((e) => e.detail)).toEqual([{ i: 2 }, { i: 1 }])
    const last = await listAuditEvents(t.db, {
      username: name,
      event: 'login.failed',
      limit: 2,
      cursor: second.nextCursor ?? 0,
    })
    expect(last).toEqual({ items: [expect.objectContaining({ detail: { i: 0 } })], nextCursor: null })
    expect((await listAuditEvents(t.db, { username: name, limit: 50 })).items.map((e) => e.event)).toEqual([
      'logout',
      ...Array.from({ length: 5 }, () => 'login.failed'),
    ])
  })

  it('records refresh, a grace sibling, reuse of a rotated refresh token (the family, never a token) and logout', async () => {
    const username = fresh()
    const user = await auth.register({ username, password: PASSWORD })
    const meta = { address: '198.51.100.4', userAgent: 'tests/1' }
    const first = await auth.login({ username, password: PASSWORD }, meta)
    const second = await auth.refresh(first.refresh, meta)
    await auth.refresh(first.refresh, meta) // within REFRESH_REUSE_INTERVAL: a sibling
    aheadMs += 11_000 // past it: reuse
    await expect(auth.refresh(first.refresh, meta)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    await auth.logout(second.refresh, meta)

    const events = (await listAuditEvents(t.db, { userId: user.id, limit: 50 })).items.reverse()
    expect(events.map((e) => e.event)).toEqual([
      'login.succeeded',
      'token.refreshed',
      'token.refreshed',
      'token.reuse_detected',
      'logout',
    ])
    expect(events[2]?.detail['grace']).toBe(true)
    const familyId = events[1]?.detail['familyId']
    expect(familyId).toEqual(expect.any(String))
    for (const e of events.slice(1)) {
      expect(e).toMatchObject({ username, address: '198.51.100.4', userAgent: 'tests/1', detail: { familyId } })
      for (const token of [first.refresh, second.refresh, first.access]) expect(JSON.stringify(e)).not.toContain(token)
    }
  })

  it('records API keys created and revoked by id and name, never the key, and password changes', async () => {
    const username = fresh()
    const user = await auth.register({ username, password: PASSWORD })
    const { token: obtained } = await auth.obtainApiToken({ username, password: PASSWORD })
    const { key, token } = await auth.createApiToken(user.id, { name: 'ci' })
    await auth.revokeApiToken(user.id, token.id)
    expect(await auth.revokeAllApiTokens(user.id)).toBe(1)
    await auth.changePassword(username, 'N3w-passphrase!', { via: 'cli' })

    const events = (await listAuditEvents(t.db, { userId: user.id, limit: 50 })).items.reverse()
    expect(events.map((e) => [e.event, e.detail])).toEqual([
      ['login.succeeded', { via: 'api_token' }],
      ['api_token.created', { id: drfTokenRow(obtained).id, name: 'default', via: 'obtain' }],
      ['api_token.created', { id: token.id, name: 'ci' }],
      ['api_token.revoked', { id: token.id }],
      ['api_token.revoked', { count: 1 }],
      ['password.changed', { via: 'cli' }],
    ])
    expect(JSON.stringify(events)).not.toContain(key.split('.')[1])
    expect(JSON.stringify(events)).not.toContain(obtained)
  })
})
