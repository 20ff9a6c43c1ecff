/**
 * Self-pruning: expired rows go without a cron job. After a write, at most once per interval per
 * process, expired outstanding tokens (their blacklist rows cascade), sessions and API keys are
 * deleted in the background, the way the throttle prunes its counters (throttle/state.ts). The
 * request that triggered it neither waits for it nor sees it fail.
 */
import type { Db } from '@gatehouse/db'

import type { Clock } from '../clock.js'
import { deleteExpiredRows } from '../store/prune.repository.js'

export interface PruneCounts {
  /** Outstanding refresh and sliding tokens (and their blacklist rows). */
  tokens: number
  sessions: number
  apiTokens: number
}

/**
 * Deletes every row that expired before `now`; `flushexpiredtokens` runs it on demand.
 * @example
 * const { tokens, sessions, apiTokens } = await pruneExpired(db, new Date())
 */
export async function pruneExpired(db: Db, now: Date): Promise<PruneCounts> {
  // Token families are pruned too, but not counted: a family's row outlives none of its tokens.
  const { tokens, sessions, apiTokens } = await deleteExpiredRows(db, now)
  return { tokens, sessions, apiTokens }
}

export interface PrunerOptions {
  db: Db
  clock: Clock
  /** @default 600 (ten minutes) */
  intervalSeconds?: number
  /** Where a failed background prune is reported; the next claim tries again. */
  onError?: ((error: unknown) => void) | undefined
}

/**
 * One process's pruning schedule.
 * @example
 * const pruner = new Pruner({ db, clock })
 * await insertSomething(db)
 * pruner.afterWrite() // returns at once; prunes in the background when due
 */
export class Pruner {
  readonly #db: Db
  readonly #clock: Clock
  readonly #intervalMs: number
  readonly #onError: ((error: unknown) => void) | undefined
  #lastMs = Number.NEGATIVE_INFINITY
  #running: Promise<void> | null = null

  constructor(opts: PrunerOptions) {
    this.#db = opts.db
    this.#clock = opts.clock
    this.#intervalMs = (opts.intervalSeconds ?? 600) * 1000
    this.#onError = opts.onError
    if (!(this.#intervalMs > 0)) throw new TypeError('Pruner: intervalSeconds must be positive')
  }

  /** Starts a background prune when one is due and none is running. Never throws, never waits. */
  afterWrite(): void {
    if (this.#running) return
    const now = this.#clock()
    const nowMs = now.getTime()
    // A clock that went backwards (tests, NTP) counts as due rather than stalling pruning.
    if (nowMs - this.#lastMs < this.#intervalMs && nowMs >= this.#lastMs) return
    this.#lastMs = nowMs
    this.#running = pruneExpired(this.#db, now).then(
      () => undefined,
      (error: unknown) => {
        try {
          this.#onError?.(error)
        } catch {
          // a failing reporter must not become an unhandled rejection
        }
      },
    )
    void this.#running.finally(() => {
      this.#running = null
    })
  }

  /** Resolves once the background prune in progress (if any) is over. For tests and shutdown. */
  async settled(): Promise<void> {
    await this.#running
  }
}
