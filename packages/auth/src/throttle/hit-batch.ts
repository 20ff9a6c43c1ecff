import type { Db } from '@gatehouse/db'

import { GroupCommit } from '../group-commit.js'
import { counterId, incrementCounters } from '../store/throttle.repository.js'

interface Counter {
  key: string
  windowStart: Date
  expiresAt: Date
}

/**
 * Throttle hits by group commit: one process's hits that arrive while its previous upsert is in
 * flight go to the database together, one upsert raising each counter by its number of hits.
 * Counting stays exact: a counter raised by n to total T hands its hits the totals T-n+1 … T in
 * arrival order, which are exactly the totals n separate upserts would have returned had nothing
 * else run between them, and every process still draws distinct totals from the same row. So a
 * limit is never overshot and nothing is kept back in memory.
 *
 * With one user's requests arriving 50 at a time this is one statement per round trip instead of
 * one per request (docs/performance.md, "Stop 13").
 *
 * @example
 * const batch = new HitBatch(db)
 * await hitCounter(db, { key: 'user:42', limit: 10_000, windowSeconds: 60, state, batch })
 */
export class HitBatch {
  readonly #commit: GroupCommit<Counter, number>

  constructor(db: Db) {
    this.#commit = new GroupCommit((hits) => countHits(db, hits))
  }

  /** Upserts sent so far (each may carry many hits). */
  get statements(): number {
    return this.#commit.batches
  }

  /** Counts one hit; resolves to the counter's total including it, as incrementCounter does. */
  add(counter: Counter): Promise<number> {
    return this.#commit.add(counter)
  }
}

/** One upsert for many hits; each hit's total, in the order given. */
async function countHits(db: Db, hits: Counter[]): Promise<number[]> {
  const groups = new Map<string, { counter: Counter; hits: number[] }>()
  hits.forEach((counter, i) => {
    const id = counterId(counter.key, counter.windowStart)
    const group = groups.get(id)
    if (group) group.hits.push(i)
    else groups.set(id, { counter, hits: [i] })
  })
  const counters = [...groups.values()]
  const totals = await incrementCounters(
    db,
    counters.map(({ counter, hits: of }) => ({ ...counter, by: of.length })),
  )
  const answers = new Array<number>(hits.length)
  counters.forEach(({ hits: of }, i) => {
    // incrementCounters answers for every counter or throws; NaN would only ever refuse.
    const first = (totals[i] ?? Number.NaN) - of.length + 1
    of.forEach((hit, j) => {
      answers[hit] = first + j
    })
  })
  return answers
}
