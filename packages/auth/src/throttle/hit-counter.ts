import type { Db } from '@gatehouse/db'

import { systemClock } from '../clock.js'
import { deleteExpiredCounters, incrementCounter } from '../store/throttle.repository.js'
import type { CounterOptions, ThrottleResult } from './counter-window.js'
import { counterWindow, result } from './counter-window.js'
import type { HitBatch } from './hit-batch.js'

export interface HitOptions extends CounterOptions {
  /**
   * Sends the hit with this process's other concurrent hits in one statement (exact all the
   * same; see HitBatch), through the batch's own database handle. Ignored when `db` is a
   * transaction, whose hits must commit with it.
   */
  batch?: HitBatch
}

/**
 * Counts one hit against `key` in the current fixed window and says whether it is within
 * `limit`: DRF's `allow_request`, with the count in the database so every process shares it.
 * A key already known to be over its limit in this window is refused without a round trip.
 *
 * @example
 * const { allowed, retryAfterSeconds } = await hitCounter(db, { key: 'anon:203.0.113.7', limit: 100, windowSeconds: 60, state })
 * if (!allowed) throw throttledError(retryAfterSeconds)
 */
export async function hitCounter(db: Db, opts: HitOptions): Promise<ThrottleResult> {
  const now = (opts.clock ?? systemClock)()
  const window = counterWindow(opts, now)
  const { state } = opts
  const blockedUntil = state?.blockedUntil(window.remembered, now.getTime())
  if (blockedUntil !== undefined) return result({ allowed: false, remaining: 0, untilMs: blockedUntil, now })

  const counter = { key: window.stored, windowStart: new Date(window.fromMs), expiresAt: new Date(window.untilMs) }
  const hits = opts.batch && !db.isTransaction ? await opts.batch.add(counter) : await incrementCounter(db, counter)
  if (state?.claimPrune(now.getTime())) {
    // Housekeeping off the request's path; a failure just waits for the next claim.
    deleteExpiredCounters(db, now).catch(() => undefined)
  }
  const allowed = hits <= opts.limit
  if (!allowed) state?.block(window.remembered, window)
  return result({ allowed, remaining: opts.limit - hits, untilMs: window.untilMs, now })
}
