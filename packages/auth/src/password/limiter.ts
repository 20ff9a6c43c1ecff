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

/** A counting semaphore: at most `limit` tasks run at once, the others wait in arrival order. */
export class Semaphore {
  #limit: number
  #active = 0
  readonly #waiting: (() => void)[] = []

  constructor(limit: number) {
    this.#limit = assertLimit(limit)
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
    return this.#waiting.length
  }

  /**
   * Runs `task` once a slot is free and frees the slot when it settles, whether it resolves,
   * rejects or throws synchronously.
   *
   * @example
   * const hash = await slots.run(() => bcrypt.hash(input, cost))
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active < this.#limit) this.#active += 1
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    try {
      return await task()
    } finally {
      this.#active -= 1
      this.#drain()
    }
  }

  #drain() {
    while (this.#active < this.#limit) {
      const next = this.#waiting.shift()
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
