/**
 * A cap on password hashing in flight (bcrypt and PBKDF2 both run on libuv's thread pool).
 *
 * The pool is shared: node:crypto's WebCrypto (jose signs and verifies through it), fs and DNS
 * queue their jobs on the same threads. Left alone, a login storm fills every thread with
 * ~250 ms hashes and a concurrent JWT check waits behind all of them (a protected query's p99
 * went from 38 ms to 4 s in the bench). Hashes beyond the cap wait here instead, in order, so at
 * least one thread always stays free for everything else.
 */
import { availableParallelism } from 'node:os'

/** libuv's thread pool size when UV_THREADPOOL_SIZE is not set. */
export const DEFAULT_THREADPOOL_SIZE = 4

/**
 * The concurrency that keeps hashing at full speed without taking the whole pool: no more hashes
 * than the cores this process may use (more only queue on the CPU), and at least one pool thread
 * left free. A pool of one thread can not leave one free; hashing then gets it.
 *
 * @example
 * defaultHashConcurrency({ cores: 2, threadpoolSize: 4 }) // 2
 * defaultHashConcurrency({ cores: 8, threadpoolSize: 4 }) // 3
 */
export function defaultHashConcurrency(opts: { cores: number; threadpoolSize: number }): number {
  return Math.max(1, Math.min(opts.cores, opts.threadpoolSize - 1))
}

function assertLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new TypeError(`a concurrency limit must be a whole number of at least 1, got ${String(limit)}`)
  }
  return limit
}

export type SlotPriority = 'high' | 'low'

export interface RunOptions {
  /**
   * `high` tasks (password checks: a login) start before every waiting `low` one (hashing a new
   * password: a registration), so a registration flood cannot queue ahead of logins.
   * @default 'high'
   */
  priority?: SlotPriority
  /**
   * Refuse at once, with a QueueFullError, when the wait foreseen for this task is longer: a
   * flood is answered "busy, retry in N s" instead of queueing without limit. The wait is
   * foreseen from the tasks ahead and the measured time of a task; with no measure yet, a free
   * slot, or fewer than `limit` tasks ahead of it, nothing is refused.
   * @default Infinity
   */
  maxWaitMs?: number
}

/** A task was refused because it would wait longer than its `maxWaitMs`. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError'
  /** The wait foreseen, in milliseconds. */
  readonly waitMs: number
  /** Whole seconds after which a retry may find room, at least 1. */
  readonly retryAfterSeconds: number

  constructor(waitMs: number) {
    super(`the queue is full: a task would wait about ${Math.ceil(waitMs)} ms`)
    this.waitMs = waitMs
    this.retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000))
  }
}

// How much each finished task moves the measured task time (an exponentially weighted mean).
const TASK_TIME_WEIGHT = 0.2

/**
 * A counting semaphore: at most `limit` tasks run at once, the others wait, `high` ones before
 * `low` ones and each kind in arrival order.
 */
export class Semaphore {
  #limit: number
  #active = 0
  readonly #high: (() => void)[] = []
  readonly #low: (() => void)[] = []
  readonly #now: () => number
  #taskMs: number | undefined

  constructor(limit: number, opts: { now?: () => number } = {}) {
    this.#limit = assertLimit(limit)
    this.#now = opts.now ?? (() => performance.now())
  }

  get limit(): number {
    return this.#limit
  }

  /** Raising the limit starts waiting tasks at once; lowering it lets running tasks finish. */
  set limit(limit: number) {
    this.#limit = assertLimit(limit)
    this.#drain()
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#high.length + this.#low.length
  }

  /**
   * How long a task of this priority would wait if it came now: the tasks that start before it,
   * a slot's worth at a time, each taking the measured task time. 0 with a free slot or no measure.
   */
  foreseenWaitMs(priority: SlotPriority = 'high'): number {
    if (this.#active < this.#limit || this.#taskMs === undefined) return 0
    return Math.ceil((this.#ahead(priority) + 1) / this.#limit) * this.#taskMs
  }

  /** Waiting tasks that would start before a new one of this priority. */
  #ahead(priority: SlotPriority): number {
    return priority === 'high' ? this.#high.length : this.waiting
  }

  /**
   * Runs `task` once a slot is free and frees the slot when it settles, whether it resolves,
   * rejects or throws synchronously.
   *
   * @example
   * const hash = await slots.run(() => bcrypt.hash(input, cost), { priority: 'low', maxWaitMs: 5000 })
   */
  async run<T>(task: () => Promise<T>, opts: RunOptions = {}): Promise<T> {
    const priority = opts.priority ?? 'high'
    if (this.#active < this.#limit) {
      this.#active += 1
    } else {
      // The first `limit` in line start as the running tasks end, however slow a task is: the
      // bound is against a queue, not against one slow hash (a cost above the bound would
      // otherwise refuse every login while anything hashes).
      const wait = this.#ahead(priority) < this.#limit ? 0 : this.foreseenWaitMs(priority)
      if (wait > (opts.maxWaitMs ?? Infinity)) throw new QueueFullError(wait)
      await new Promise<void>((resolve) => (priority === 'high' ? this.#high : this.#low).push(resolve))
    }
    const started = this.#now()
    try {
      return await task()
    } finally {
      const took = this.#now() - started
      this.#taskMs = this.#taskMs === undefined ? took : this.#taskMs + TASK_TIME_WEIGHT * (took - this.#taskMs)
      this.#active -= 1
      this.#drain()
    }
  }

  #drain() {
    while (this.#active < this.#limit) {
      const next = this.#high.shift() ?? this.#low.shift()
      if (!next) return
      // The slot is taken on the waiter's behalf, so a task arriving meanwhile cannot jump the queue.
      this.#active += 1
      next()
    }
  }
}

/** Every password hash and check of this process goes through these slots. */
export const passwordHashSlots = new Semaphore(
  defaultHashConcurrency({ cores: availableParallelism(), threadpoolSize: DEFAULT_THREADPOOL_SIZE }),
)

/**
 * Sets how many password hashes may run at once in this process; the server calls it with
 * PASSWORD_HASH_CONCURRENCY, or with `defaultHashConcurrency` of its cores and thread pool size.
 *
 * @example
 * setPasswordHashConcurrency(2)
 */
export function setPasswordHashConcurrency(limit: number): void {
  passwordHashSlots.limit = limit
}
