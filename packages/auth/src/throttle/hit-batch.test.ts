import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { incrementCounters } from '../store/throttle.repository.js'
import { HitBatch } from './hit-batch.js'
import { hitCounter } from './hit-counter.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const at = (seconds: number) => () => new Date(T0 + seconds * 1000)
const windowOf = (seconds: number) => ({
  windowStart: new Date(T0 + seconds * 1000),
  expiresAt: new Date(T0 + 3600_000),
})

let n = 0
const freshKey = () => `batch:${(n += 1)}`
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe(`${TEST_BACKEND}: throttle hits sent together`, () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDb()
  })
  afterAll(() => t[Symbol.asyncDispose]())

  const hits = async (key: string) =>
    (await t.db.selectFrom('throttle_counters').select('hits').where('key', '=', key).execute()).map((r) => r.hits)

  it('is exact under a burst: of 200 simultaneous hits at limit 150, exactly 150 pass, in one statement', async () => {
    const key = freshKey()
    const batch = new HitBatch(t.db)
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, () => hitCounter(t.db, { key, limit: 150, windowSeconds: 60, clock: at(0), batch })),
    )
    // The first 150 to arrive are the ones allowed, as with one upsert per hit.
    expect(outcomes.map((o) => o.allowed)).toEqual([...Array(150).fill(true), ...Array(50).fill(false)])
    expect(outcomes.map((o) => o.remaining).slice(145, 151)).toEqual([4, 3, 2, 1, 0, 0])
    expect(await hits(key)).toEqual([200])
    expect(batch.statements).toBe(1)
  })

  it('hands out distinct totals across processes sharing a counter', async () => {
    const key = freshKey()
    const [a, b] = [new HitBatch(t.db), new HitBatch(t.db)]
    const counter = { key, ...windowOf(0) }
    const totals = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const round = await Promise.all(range(1, 40).map((i) => (i % 2 ? a : b).add(counter)))
        // a process's later hits get later totals, as sequential upserts would give them
        const fromA = round.filter((_, i) => i % 2 === 0)
        expect(fromA).toEqual([...fromA].sort((x, y) => x - y))
        return round
      }),
    )
    expect(totals.flat().sort((x, y) => x - y)).toEqual(range(1, 120))
    expect(await hits(key)).toEqual([120])
  })

  it('counts several counters and windows in one statement, each from its own total', async () => {
    const [k1, k2] = [freshKey(), freshKey()]
    const batch = new HitBatch(t.db)
    await batch.add({ key: k1, ...windowOf(0) })
    const got = await Promise.all([
      batch.add({ key: k1, ...windowOf(0) }),
      batch.add({ key: k2, ...windowOf(0) }),
      batch.add({ key: k1, ...windowOf(60) }),
      batch.add({ key: k1, ...windowOf(0) }),
      batch.add({ key: k2, ...windowOf(0) }),
    ])
    expect(got).toEqual([2, 1, 1, 3, 2])
    expect(batch.statements).toBe(2)
    expect((await hits(k1)).sort()).toEqual([1, 3])
  })

  it('fails every hit of a failed statement, counts none of them, and carries on', async () => {
    const key = freshKey()
    const batch = new HitBatch(t.db)
    // a key past the column's 255 characters (hitCounter would have stored it by digest)
    const results = await Promise.allSettled([
      batch.add({ key, ...windowOf(0) }),
      batch.add({ key: 'x'.repeat(300), ...windowOf(0) }),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(await hits(key)).toEqual([])
    await expect(batch.add({ key, ...windowOf(0) })).resolves.toBe(1)
  })

  it('leaves a transaction’s hits to the transaction: they roll back with it', async () => {
    const key = freshKey()
    const batch = new HitBatch(t.db)
    await t.db
      .transaction()
      .execute(async (trx) => {
        await hitCounter(trx, { key, limit: 5, windowSeconds: 60, clock: at(0), batch })
        throw new Error('roll back')
      })
      .catch(() => undefined)
    expect(batch.statements).toBe(0)
    expect(await hits(key)).toEqual([])
  })

  it('cannot deadlock: processes raising the same counters in opposite orders all finish', async () => {
    const keys = range(1, 400).map(() => freshKey())
    const [a, b] = [new HitBatch(t.db), new HitBatch(t.db)]
    for (let round = 0; round < 5; round += 1) {
      await Promise.all([
        ...keys.map((key) => a.add({ key, ...windowOf(0) })),
        ...[...keys].reverse().map((key) => b.add({ key, ...windowOf(0) })),
      ])
    }
    for (const key of keys) expect(await hits(key)).toEqual([10])
  })

  it('refuses a counter given twice in one statement', async () => {
    const counter = { key: freshKey(), ...windowOf(0), by: 1 }
    await expect(incrementCounters(t.db, [counter, { ...counter }])).rejects.toThrow(TypeError)
  })
})
