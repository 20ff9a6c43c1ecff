/** Single-value variables: booleans, bounded integers, COOKIE_SECURE, an issuer URL, WORKERS. */
import { availableParallelism } from 'node:os'

import * as z from 'zod'

import { MAX_WORKERS } from '../sizing.js'

export const bool = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value, ctx) => {
    if (['true', '1', 'yes', 'on'].includes(value)) return true
    if (['false', '0', 'no', 'off'].includes(value)) return false
    ctx.addIssue({ code: 'custom', message: `expected true or false, got "${value}"` })
    return z.NEVER
  })

export const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `expected at least ${min}`).max(max, `expected at most ${max}`))

/** COOKIE_SECURE: `auto` (Secure when the request came over TLS), or forced on or off. */
export const cookieSecure = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value, ctx): 'auto' | boolean => {
    if (value === 'auto') return 'auto'
    if (['true', '1', 'yes', 'on'].includes(value)) return true
    if (['false', '0', 'no', 'off'].includes(value)) return false
    ctx.addIssue({ code: 'custom', message: `expected auto, true or false, got "${value}"` })
    return z.NEVER
  })

/** An absolute http(s) URL without query or fragment (an OAuth issuer). */
export const issuerUrl = z
  .string()
  .trim()
  .transform((value, ctx) => {
    let url: URL | undefined
    try {
      url = new URL(value)
    } catch {
      url = undefined
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash) {
      ctx.addIssue({ code: 'custom', message: `expected an http(s) URL without query or fragment, got "${value}"` })
      return z.NEVER
    }
    return value.replace(/\/+$/, '')
  })

/** WORKERS: `auto` (one per core) or a whole number of processes. */
export const workers = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value, ctx): number => {
    if (value === 'auto') return availableParallelism()
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
    if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
      ctx.addIssue({
        code: 'custom',
        message: `expected auto or a whole number from 1 to ${MAX_WORKERS}, got "${value}"`,
      })
      return z.NEVER
    }
    return n
  })
