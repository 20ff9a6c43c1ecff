import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { hitCounter } from './hit-counter.js'
import { peekCounter } from './peek-counter.js'
import { ThrottleState } from './state.js'

// A window-aligned start: 2026-01-01T00:00:00Z is a multiple of every window used here.
const T0 = Date.parse('2026-01-01T00:00:00Z')
const at = (seconds: number) => () => new Date(T0 + seconds * 1000)

let n = 0
const freshKey = () => `test:${(n += 1)}`

describe(`${TEST_BACKEND}: throttle counters`, () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDb()
  })
  afterAll(() => t[Symbol.asyncDispose]())

  const rows = (key: string) => t.db.selectFrom('throttle_counters').selectAll().where('key', '=', key).execute()

  it('allows limit hits in a window, then refuses until the window ends', async () => {
    const key = freshKey()
    const opts = { key, limit: 3, windowSeconds: 60 }
    const results = []
    for (let i = 0; i < 4; i += 1) results.push(await hitCounter(t.db, { ...opts, clock: at(15) }))
    expect(results).toEqual([
      { allowed: true, remaining: 2, retryAfterSeconds: 45 },
      { allowed: true, remaining: 1, retryAfterSeconds: 45 },
      { allowed: true, remaining: 0, retryAfterSeconds: 45 },
      { allowed: false, remaining: 0, retryAfterSeconds: 45 },
    ])
    // the next window starts from zero
    await expect(hitCounter(t.db, { ...opts, clock: at(60) })).resolves.toMatchObject({ allowed: true, remaining: 2 })
  })

  it('rounds the wait up to whole seconds and never answers 0', async () => {
    const key = freshKey()
    const clock = () => new Date(T0 + 59_999)
    await hitCounter(t.db, { key, limit: 1, windowSeconds: 60, clock })
    await expect(hitCounter(t.db, { key, limit: 1, windowSeconds: 60, clock })).resolves.toEqual({
      allowed: false,
      remaining: 0,
      retryAfterSeconds: 1,
    })
  })

  it('counts keys independently', async () => {
    const [a, b] = [freshKey(), freshKey()]
    await hitCounter(t.db, { key: a, limit: 1, windowSeconds: 60, clock: at(0) })
    await expect(hitCounter(t.db, { key: a, limit: 1, windowSeconds: 60, clock: at(1) })).resolves.toMatchObject({
      allowed: false,
    })
    await expect(hitCounter(t.db, { key: b, limit: 1, windowSeconds: 60, clock: at(1) })).resolves.toMatchObject({
      allowed: true,
    })
  })

  it('relaxes the commit of its own statement only: not the connection after it, nor a caller’s transaction', async () => {
    // One connection, so the setting would be seen if it leaked out of the counter's own transaction.
    await t.db.connection().execute(async (conn) => {
      const setting = async () =>
        (await sql<{ value: string }>`select current_setting('synchronous_commit') as value`.execute(conn)).rows[0]
          ?.value
      expect(await setting()).toBe('on')
      const key = freshKey()
      await hitCounter(conn, { key, limit: 5, windowSeconds: 60, clock: at(0) })
      await hitCounter(conn, { key, limit: 5, windowSeconds: 60, clock: at(1) })
      expect(await setting()).toBe('on')
      // Inside a caller's transaction the count must not relax the caller's own commit.
      await conn.transaction().execute(async (trx) => {
        await hitCounter(trx, { key, limit: 5, windowSeconds: 60, clock: at(2) })
        const inside = await sql<{ value: string }>`select current_setting('synchronous_commit') as value`.execute(trx)
        expect(inside.rows[0]?.value).toBe('on')
      })
      expect(await setting()).toBe('on')
      expect((await rows(key)).map((r) => r.hits)).toEqual([3])
    })
  })

  it('loses no hit under concurrency: exactly limit of many simultaneous hits are allowed', async () => {
    const key = freshKey()
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, () => hitCounter(t.db, { key, limit: 10, windowSeconds: 60, clock: at(0) })),
    )
    expect(outcomes.filter((o) => o.allowed)).toHaveLength(10)
    expect(await rows(key)).toEqual([expect.objectContaining({ hits: 25 })])
  })

  it('shares counts between processes: each state alone is under the limit, together they are not', async () => {
    const key = freshKey()
    const [a, b] = [new ThrottleState(), new ThrottleState()]
    const opts = { key, limit: 4, windowSeconds: 60, clock: at(0) }
    for (const state of [a, a, b, b])
      await expect(hitCounter(t.db, { ...opts, state })).resolves.toMatchObject({ allowed: true })
    await expect(hitCounter(t.db, { ...opts, state: a })).resolves.toMatchObject({ allowed: false })
    await expect(hitCounter(t.db, { ...opts, state: b })).resolves.toMatchObject({ allowed: false })
  })

  it('refuses a known-refused key without asking the database, and asks again once the window ends', async () => {
    const key = freshKey()
    const state = new ThrottleState()
    const opts = { key, limit: 1, windowSeconds: 60, state }
    await hitCounter(t.db, { ...opts, clock: at(0) })
    await expect(hitCounter(t.db, { ...opts, clock: at(1) })).resolves.toMatchObject({ allowed: false })
    // with the count gone behind its back, only the fast path can still refuse
    await t.db.deleteFrom('throttle_counters').where('key', '=', key).execute()
    await expect(hitCounter(t.db, { ...opts, clock: at(30) })).resolves.toEqual({
      allowed: false,
      remaining: 0,
      retryAfterSeconds: 30,
    })
    expect(await rows(key)).toEqual([])
    await expect(hitCounter(t.db, { ...opts, clock: at(60) })).resolves.toMatchObject({ allowed: true })
  })

  it('peeks without counting, and refuses once the count has reached the limit', async () => {
    const key = freshKey()
    const opts = { key, limit: 2, windowSeconds: 900, clock: at(100) }
    await expect(peekCounter(t.db, opts)).resolves.toEqual({ allowed: true, remaining: 2, retryAfterSeconds: 800 })
    await expect(peekCounter(t.db, opts)).resolves.toMatchObject({ allowed: true, remaining: 2 })
    expect(await rows(key)).toEqual([])
    await hitCounter(t.db, opts)
    await expect(peekCounter(t.db, opts)).resolves.toMatchObject({ allowed: true, remaining: 1 })
    await hitCounter(t.db, opts)
    await expect(peekCounter(t.db, opts)).resolves.toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 800 })
  })

  it('stores a counter in its fixed window with the window end as expiry', async () => {
    const key = freshKey()
    await hitCounter(t.db, { key, limit: 5, windowSeconds: 900, clock: at(1000) })
    expect(await rows(key)).toEqual([
      {
        key,
        window_start: new Date(T0 + 900_000),
        hits: 1,
        expires_at: new Date(T0 + 1_800_000),
      },
    ])
  })

  it('stores a key longer than the column by its digest', async () => {
    const key = `login-user:${'x'.repeat(300)}`
    await hitCounter(t.db, { key, limit: 1, windowSeconds: 60, clock: at(0) })
    await expect(hitCounter(t.db, { key, limit: 1, windowSeconds: 60, clock: at(1) })).resolves.toMatchObject({
      allowed: false,
    })
    const stored = await t.db.selectFrom('throttle_counters').select('key').where('key', 'like', 'sha256:%').execute()
    expect(stored.length).toBeGreaterThan(0)
    for (const row of stored) expect(row.key.length).toBeLessThanOrEqual(255)
  })

  it('prunes expired counters in the background, at most once a minute per state', async () => {
    const state = new ThrottleState()
    const old = freshKey()
    await hitCounter(t.db, { key: old, limit: 5, windowSeconds: 60, clock: at(0) })
    // a later hit, windows after `old` ended, claims the prune
    await hitCounter(t.db, { key: freshKey(), limit: 5, windowSeconds: 60, clock: at(3600), state })
    await vi.waitFor(async () => expect(await rows(old)).toEqual([]))

    const again = freshKey()
    await hitCounter(t.db, { key: again, limit: 5, windowSeconds: 1, clock: at(3600) }) // expired by 3601
    await hitCounter(t.db, { key: freshKey(), limit: 5, windowSeconds: 60, clock: at(3659), state }) // within the minute
    await hitCounter(t.db, { key: freshKey(), limit: 5, windowSeconds: 60, clock: at(3659) }) // no state: never prunes
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await rows(again)).toHaveLength(1)
  })

  it('treats a bad limit, window or key as a programming error', async () => {
    for (const bad of [
      { key: '', limit: 1, windowSeconds: 1 },
      { key: 'k', limit: 0, windowSeconds: 1 },
      { key: 'k', limit: 1, windowSeconds: 0 },
      { key: 'k', limit: 1.5, windowSeconds: 1 },
    ]) {
      await expect(hitCounter(t.db, bad)).rejects.toThrow(TypeError)
      await expect(peekCounter(t.db, bad)).rejects.toThrow(TypeError)
    }
  })
})
