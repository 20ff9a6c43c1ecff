const MAX_BLOCKED_KEYS = 10_000
const PRUNE_INTERVAL_MS = 60_000

export interface ThrottleStateOptions {
  /**
   * How many refused keys the fast path remembers. Past that the oldest are forgotten, which
   * only costs those keys a database round trip again.
   * @default 10000
   */
  maxBlockedKeys?: number
}

/**
 * One process's throttle memory: the fast path (keys known to be over their limit until their
 * window ends) and when expired counters were last pruned. The database stays authoritative; this
 * only ever refuses what the database would refuse too, because a fixed window's count never goes
 * down before the window ends.
 *
 * @example
 * const state = new ThrottleState()
 * await hitCounter(db, { key: 'anon:203.0.113.7', limit: 100, windowSeconds: 60, state })
 */
export class ThrottleState {
  readonly #blocked = new Map<string, { fromMs: number; untilMs: number }>()
  readonly #maxBlockedKeys: number
  #lastPruneMs = Number.NEGATIVE_INFINITY

  constructor(opts: ThrottleStateOptions = {}) {
    this.#maxBlockedKeys = opts.maxBlockedKeys ?? MAX_BLOCKED_KEYS
  }

  /** Until when (epoch ms) `key` is known to be refused at `nowMs`, or undefined. */
  blockedUntil(key: string, nowMs: number): number | undefined {
    const entry = this.#blocked.get(key)
    if (!entry) return undefined
    if (nowMs >= entry.fromMs && nowMs < entry.untilMs) return entry.untilMs
    if (nowMs >= entry.untilMs) this.#blocked.delete(key)
    return undefined
  }

  /** Remembers that `key` is refused for the window `[fromMs, untilMs)`. */
  block(key: string, window: { fromMs: number; untilMs: number }): void {
    this.#blocked.delete(key) // re-inserted last, so the first entry is always the oldest
    if (this.#blocked.size >= this.#maxBlockedKeys) {
      // Forgetting is safe: the database refuses the key just the same, one round trip later.
      const oldest = this.#blocked.keys().next()
      if (!oldest.done) this.#blocked.delete(oldest.value)
    }
    this.#blocked.set(key, { fromMs: window.fromMs, untilMs: window.untilMs })
  }

  /** True at most once per minute: the caller that gets true prunes expired counters. */
  claimPrune(nowMs: number): boolean {
    if (nowMs - this.#lastPruneMs < PRUNE_INTERVAL_MS && nowMs >= this.#lastPruneMs) return false
    this.#lastPruneMs = nowMs
    return true
  }
}
