import type { Db } from '@gatehouse/db'

import { incrementCounters } from '../store/throttle.repository.js'

interface Counter {
  key: string
  windowStart: Date
  expiresAt: Date
}

interface Waiting {
  resolve(hits: number): void
  reject(error: unknown): void
}

/**
 * Group commit for throttle hits: one process's hits that arrive while its previous statement is
 * in flight go to the database together, one upsert for all of them, each counter raised by its
 * number of hits. Counting stays exact: a counter raised by n to total T hands its waiters the
 * totals T-n+1 … T in arrival order, which are exactly the totals n separate upserts would have
 * returned had nothing else run between them, and every process still draws distinct totals from
 * the same row. So a limit is never overshot and nothing is kept back in memory.
 *
 * With one user's requests arriving 50 at a time this is one statement per round trip instead of
 * one per request (docs/performance.md, "Stop 13"). A lone hit waits for no timer: it goes out at
 * once when nothing is in flight. At most one statement of this batch is in flight, so the
 * throttle holds at most one pooled connection however heavy the load.
 *
 * @example
 * const batch = new HitBatch(db)
 * await hitCounter(db, { key: 'user:42', limit: 10_000, windowSeconds: 60, state, batch })
 */
export class HitBatch {
  readonly #db: Db
  #queue = new Map<string, { counter: Counter; waiting: Waiting[] }>()
  #running = false
  #statements = 0

  constructor(db: Db) {
    this.#db = db
  }

  /** Upserts sent so far (each may carry many hits): what the batching saved is visible in tests. */
  get statements(): number {
    return this.#statements
  }

  /** Counts one hit; resolves to the counter's total including it, as incrementCounter does. */
  add(counter: Counter): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const id = `${counter.windowStart.getTime()}:${counter.key}`
      const queued = this.#queue.get(id)
      if (queued) queued.waiting.push({ resolve, reject })
      else this.#queue.set(id, { counter, waiting: [{ resolve, reject }] })
      if (!this.#running) {
        this.#running = true
        // After the current task, so the hits of one tRPC batch (one tick) share a statement.
        queueMicrotask(() => void this.#drain())
      }
    })
  }

  async #drain(): Promise<void> {
    while (this.#queue.size > 0) {
      const batch = [...this.#queue.values()]
      this.#queue = new Map()
      await this.#send(batch)
    }
    this.#running = false
  }

  async #send(batch: { counter: Counter; waiting: Waiting[] }[]): Promise<void> {
    this.#statements += 1
    try {
      const totals = await incrementCounters(
        this.#db,
        batch.map(({ counter, waiting }) => ({ ...counter, by: waiting.length })),
      )
      batch.forEach(({ waiting }, i) => {
        // incrementCounters answers for every counter or throws; NaN would only ever refuse.
        const first = (totals[i] ?? Number.NaN) - waiting.length + 1
        waiting.forEach((w, j) => w.resolve(first + j))
      })
    } catch (error) {
      // The statement is all or nothing: none of its hits were counted, and each caller sees why.
      for (const { waiting } of batch) for (const w of waiting) w.reject(error)
    }
  }
}
