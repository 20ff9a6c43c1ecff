/**
 * How big the per-process resources are when the operator does not say: worker count, database
 * pool, libuv thread pool and password hashing slots, all from the core count. Pure functions of
 * their inputs, so config.ts can derive defaults and the tests can check them.
 */
import { defaultHashConcurrency, DEFAULT_THREADPOOL_SIZE } from '@gatehouse/auth'

/** Workers beyond this are a typo, not a machine. */
export const MAX_WORKERS = 1024

/** The cores one process may count on: the machine's share per worker, at least one. */
export function coresPerProcess(opts: { cores: number; workers: number }): number {
  return Math.max(1, Math.floor(opts.cores / opts.workers))
}

/**
 * DB_POOL_SIZE's default, per process: a budget of max(10, 2 × cores) connections split across the
 * workers, at least 4 each (a request may hold one in a transaction while another runs a lookup).
 * One process on two cores keeps the historical 10.
 *
 * @example
 * defaultDbPoolSize({ cores: 2, workers: 1 }) // 10
 * defaultDbPoolSize({ cores: 16, workers: 16 }) // 4
 */
export function defaultDbPoolSize(opts: { cores: number; workers: number }): number {
  return Math.max(4, Math.ceil(Math.max(10, 2 * opts.cores) / opts.workers))
}

/**
 * UV_THREADPOOL_SIZE for a worker the primary forks when the operator set none: one thread per
 * core the worker may hash on, plus two for WebCrypto (jose), fs and DNS; never below libuv's 4.
 *
 * @example
 * workerThreadpoolSize({ cores: 16, workers: 2 }) // 10
 */
export function workerThreadpoolSize(opts: { cores: number; workers: number }): number {
  return Math.max(DEFAULT_THREADPOOL_SIZE, coresPerProcess(opts) + 2)
}

/** PASSWORD_HASH_CONCURRENCY's default: see defaultHashConcurrency in @gatehouse/auth. */
export function defaultPasswordHashConcurrency(opts: { cores: number; workers: number; threadpoolSize: number }) {
  return defaultHashConcurrency({ cores: coresPerProcess(opts), threadpoolSize: opts.threadpoolSize })
}
