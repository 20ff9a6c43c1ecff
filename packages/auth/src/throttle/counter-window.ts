/**
 * What hitCounter and peekCounter share: the fixed window a moment falls in, and the keys a
 * counter is stored and remembered under. Internal to the throttle folder.
 */
import { createHash } from 'node:crypto'

import type { Clock } from '../clock.js'
import type { Rate } from './rate.js'
import type { ThrottleState } from './state.js'

export interface CounterOptions extends Rate {
  /** What is counted, such as `anon:203.0.113.7` or `login-user:alice`. */
  key: string
  /** @default systemClock */
  clock?: Clock
  /**
   * This process's fast path and pruning bookkeeping. Without one every call asks the database
   * and expired counters are never pruned.
   */
  state?: ThrottleState
}

export interface ThrottleResult {
  allowed: boolean
  /** Hits left in the current window. */
  remaining: number
  /** Whole seconds until the current window ends, at least 1: the `Retry-After` of a refusal. */
  retryAfterSeconds: number
}

// The column is varchar(255); a longer key (a very long username) is stored by its digest.
const MAX_KEY_LENGTH = 255

export function counterWindow(opts: CounterOptions, now: Date) {
  const { key, limit, windowSeconds } = opts
  if (!key || !Number.isSafeInteger(limit) || limit < 1 || !Number.isSafeInteger(windowSeconds) || windowSeconds < 1) {
    throw new TypeError('a throttle counter needs a key, and a whole limit and window of at least 1')
  }
  const lengthMs = windowSeconds * 1000
  const fromMs = Math.floor(now.getTime() / lengthMs) * lengthMs
  const untilMs = fromMs + lengthMs
  return {
    fromMs,
    untilMs,
    stored: key.length > MAX_KEY_LENGTH ? `sha256:${createHash('sha256').update(key).digest('base64url')}` : key,
    // The rate is part of the fast-path key: a refusal under one rate says nothing about another.
    remembered: `${limit}/${windowSeconds}:${key}`,
  }
}

export function result(opts: { allowed: boolean; remaining: number; untilMs: number; now: Date }): ThrottleResult {
  return {
    allowed: opts.allowed,
    remaining: Math.max(0, opts.remaining),
    retryAfterSeconds: Math.max(1, Math.ceil((opts.untilMs - opts.now.getTime()) / 1000)),
  }
}
