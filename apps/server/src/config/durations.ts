/** Duration variables: `30s`, `5m`, `12h`, `7d`, and the forms that also take `off` or `0`. */
import { parseDurationSeconds } from '@gatehouse/auth'
import * as z from 'zod'

export const duration = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const seconds = parseDurationSeconds(value)
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 5m, 12h or 7d, got "${value}"` })
      return z.NEVER
    }
    return seconds
  })

/** A duration, or `off` → null (never). */
export const durationOrOff = z
  .string()
  .trim()
  .transform((value, ctx): number | null => {
    if (value.toLowerCase() === 'off') return null
    const seconds = parseDurationSeconds(value)
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 30d or 12h, or off, got "${value}"` })
      return z.NEVER
    }
    return seconds
  })

/**
 * REFRESH_REUSE_INTERVAL: a duration up to 5m, or `0` / `off` → 0 (no grace). Longer would no
 * longer cover a race between tabs but let a stolen token be replayed at leisure.
 */
export const reuseInterval = z
  .string()
  .trim()
  .transform((value, ctx): number => {
    const seconds = /^(0+[smhd]?|off)$/i.test(value) ? 0 : parseDurationSeconds(value)
    if (seconds === null || seconds > 300) {
      const message = `expected 0 or off (no grace), or a duration up to 5m such as 10s, got "${value}"`
      ctx.addIssue({ code: 'custom', message })
      return z.NEVER
    }
    return seconds
  })

/** A duration, or `0` for none. */
export const durationOrZero = z
  .string()
  .trim()
  .transform((value, ctx): number => {
    if (value === '0') return 0
    const seconds = parseDurationSeconds(value)
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 5m or 1h, or 0, got "${value}"` })
      return z.NEVER
    }
    return seconds
  })
