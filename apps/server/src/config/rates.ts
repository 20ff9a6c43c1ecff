/** Throttle rate variables: DRF's `100/min` rates, and per-scope rates laid over the defaults. */
import type { Rate } from '@gatehouse/auth'
import { parseRate } from '@gatehouse/auth'
import * as z from 'zod'

const RATE_HELP = 'a rate such as 100/min, 1000/hour or 10/15m, or off'

/** A DRF-style rate; `off` → null (no throttle). */
export const rate = z
  .string()
  .trim()
  .transform((value, ctx): Rate | null => {
    if (value.toLowerCase() === 'off') return null
    const parsed = parseRate(value)
    if (!parsed) {
      ctx.addIssue({ code: 'custom', message: `expected ${RATE_HELP}, got "${value}"` })
      return z.NEVER
    }
    return parsed
  })

/**
 * Scoped rates in force unless THROTTLE_RATES names the scope (`register=off` drops it): bcrypt
 * work anyone can ask for without an account is bounded per address (register=20/h).
 */
export const DEFAULT_SCOPED_RATES: ReadonlyMap<string, Rate> = new Map([
  ['register', { limit: 20, windowSeconds: 3600 }],
])

/**
 * DRF's `DEFAULT_THROTTLE_RATES` for scopes: `register=20/h,refresh=600/min`, laid over
 * DEFAULT_SCOPED_RATES; `off` drops a scope.
 */
export const scopedRates = z
  .string()
  .trim()
  .transform((value, ctx): ReadonlyMap<string, Rate> => {
    const rates = new Map(DEFAULT_SCOPED_RATES)
    for (const entry of value.split(',')) {
      if (!entry.trim()) continue
      const match = /^\s*([a-z][\w.-]*)\s*=(.+)$/i.exec(entry)
      const scope = match?.[1]
      const text = match?.[2]?.trim() ?? ''
      const off = text.toLowerCase() === 'off'
      const parsed = off ? null : parseRate(text)
      if (!scope || (!off && !parsed)) {
        const message = `expected comma-separated scope=rate pairs such as register=20/h,refresh=off; got "${entry.trim()}"`
        ctx.addIssue({ code: 'custom', message })
        return z.NEVER
      }
      if (parsed) rates.set(scope, parsed)
      else rates.delete(scope)
    }
    return rates
  })
