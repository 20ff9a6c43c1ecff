import type { Db } from '@gatehouse/db'

import { systemClock } from '../clock.js'
import { decrementCounter, incrementCounter } from '../store/throttle.repository.js'
import type { CounterOptions, ThrottleResult } from './counter-window.js'
import { counterWindow, result } from './counter-window.js'

export interface Reservation extends ThrottleResult {
  /** Hits counted in the window, this one included (0 when the fast path refused it uncounted). */
  hits: number
  /** Gives the hit back (the attempt succeeded, or was refused elsewhere). Safe to call once. */
  release(): Promise<void>
}

/**
 * Counts an attempt before its outcome is known, and lets the caller give it back. For limits
 * on failures (logins): checking first and counting failures afterwards lets any number of
 * concurrent guesses through the check before the first failure lands; reserving a slot
 * atomically first and releasing it on success keeps the limit exact under concurrency.
 *
 * @example
 * const slot = await reserveCounter(db, { key: 'login-user:alice', limit: 10, windowSeconds: 900, state })
 * if (!slot.allowed) { await slot.release(); throw throttledError(slot.retryAfterSeconds) }
 * if (passwordOk) await slot.release() // successes are never counted
 */
export async function reserveCounter(db: Db, opts: CounterOptions): Promise<Reservation> {
  const now = (opts.clock ?? systemClock)()
  const window = counterWindow(opts, now)
  const { state } = opts
  const blockedUntil = state?.blockedUntil(window.remembered, now.getTime())
  if (blockedUntil !== undefined) {
    const refused = result({ allowed: false, remaining: 0, untilMs: blockedUntil, now })
    return { ...refused, hits: 0, release: () => Promise.resolve() }
  }
  const counter = { key: window.stored, windowStart: new Date(window.fromMs) }
  const hits = await incrementCounter(db, { ...counter, expiresAt: new Date(window.untilMs) })
  let released = false
  return {
    ...result({ allowed: hits <= opts.limit, remaining: opts.limit - hits, untilMs: window.untilMs, now }),
    hits,
    release: async () => {
      if (released) return
      released = true
      await decrementCounter(db, counter)
    },
  }
}
