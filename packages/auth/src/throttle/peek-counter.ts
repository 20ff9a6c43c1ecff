import type { Db } from '@gatehouse/db'

import { systemClock } from '../clock.js'
import { readCounter } from '../store/throttle.repository.js'
import type { CounterOptions, ThrottleResult } from './counter-window.js'
import { counterWindow, result } from './counter-window.js'

/**
 * Whether `key` has room for one more hit in the current window, without counting one: for
 * limits on outcomes rather than requests, such as failed logins (check first, count failures
 * after). Refused once the count has reached `limit`.
 *
 * @example
 * const check = await peekCounter(db, { key: 'login-user:alice', limit: 10, windowSeconds: 900, state })
 * if (!check.allowed) throw throttledError(check.retryAfterSeconds)
 */
export async function peekCounter(db: Db, opts: CounterOptions): Promise<ThrottleResult> {
  const now = (opts.clock ?? systemClock)()
  const window = counterWindow(opts, now)
  const { state } = opts
  const blockedUntil = state?.blockedUntil(window.remembered, now.getTime())
  if (blockedUntil !== undefined) return result({ allowed: false, remaining: 0, untilMs: blockedUntil, now })

  const hits = await readCounter(db, { key: window.stored, windowStart: new Date(window.fromMs) })
  const allowed = hits < opts.limit
  if (!allowed) state?.block(window.remembered, window)
  return result({ allowed, remaining: opts.limit - hits, untilMs: window.untilMs, now })
}
