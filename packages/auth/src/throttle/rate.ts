import { parseDurationSeconds } from '../duration.js'

/** A throttle rate: at most `limit` hits per fixed window of `windowSeconds`. */
export interface Rate {
  limit: number
  windowSeconds: number
}

// DRF's period names, spelled out as well as abbreviated. A Map, so `constructor` is no unit.
const PERIODS = new Map<string, number>([
  ['s', 1],
  ['sec', 1],
  ['secs', 1],
  ['second', 1],
  ['seconds', 1],
  ['m', 60],
  ['min', 60],
  ['mins', 60],
  ['minute', 60],
  ['minutes', 60],
  ['h', 3600],
  ['hour', 3600],
  ['hours', 3600],
  ['d', 86_400],
  ['day', 86_400],
  ['days', 86_400],
])

/**
 * Parses a DRF-style rate, `N/period`: the period is a unit (`s`, `sec`, `second`, `m`, `min`,
 * `minute`, `h`, `hour`, `d`, `day`, plurals too) or a duration (`15m`, `2s`, `12h`). Returns null
 * for anything else, including a limit of 0; turning a throttle off is the caller's `off`.
 *
 * @example
 * parseRate('100/min') // { limit: 100, windowSeconds: 60 }
 * parseRate('10/15m') // { limit: 10, windowSeconds: 900 }
 */
export function parseRate(value: string): Rate | null {
  const match = /^(\d{1,9})\s*\/\s*([a-z0-9]+)$/i.exec(value.trim())
  if (!match?.[1] || !match[2]) return null
  const limit = Number(match[1])
  const period = match[2].toLowerCase()
  const windowSeconds = PERIODS.get(period) ?? parseDurationSeconds(period)
  return limit > 0 && windowSeconds !== null ? { limit, windowSeconds } : null
}
