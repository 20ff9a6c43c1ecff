/**
 * Brute-force protection for every password login (JWT, session, sliding, API key, the OAuth
 * sign-in page), counted in the database so every process shares it. Three counters of failed
 * attempts per window, each taken before the password is checked and given back on success:
 *
 * - per (username, address): a hard limit. One address guessing at one name is refused (429).
 * - per address: a hard limit across names, against credential stuffing from one place.
 * - per username: never a refusal, only a growing delay. A hard limit per name alone let anyone
 *   lock a named user out (ten wrong passwords from ten addresses made her right password 429
 *   from a clean one); a delay slows guessing spread over many addresses and still lets the
 *   owner in. Past `limit` failures each attempt waits twice as long as the one before, up to
 *   `maxDelayMs` (Microsoft's "smart lockout" and Django-axes' cool-off idea, without the lock).
 */
import type { Db } from '@gatehouse/db'

import type { Clock } from '../clock.js'
import type { Rate } from './rate.js'
import type { ThrottleState } from './state.js'
import { throttleAddress } from './address.js'
import { reserveCounter } from './reserve-counter.js'
import { throttledError } from './throttled-error.js'

export interface LoginDelay {
  /** The first delay, once a name has `limit` failures in the window. @default 1000 */
  baseMs: number
  /** The longest delay. @default 10_000 */
  maxDelayMs: number
}

export const DEFAULT_LOGIN_DELAY: LoginDelay = { baseMs: 1000, maxDelayMs: 10_000 }

export interface LoginGuardOptions {
  db: Db
  clock: Clock
  /** Failures allowed per (username, address) and per address in a window; null turns it all off. */
  rate: Rate | null
  /** This process's fast path for refused keys. */
  state: ThrottleState
  delay?: LoginDelay | undefined
  /** How a delay is waited out. @default setTimeout */
  sleep?: ((ms: number) => Promise<void>) | undefined
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * How long an attempt at a name waits, given the failures already counted against the name.
 * @example loginDelayMs(10, 10, DEFAULT_LOGIN_DELAY) // 1000; 11 → 2000; 14 and more → 10_000
 */
export function loginDelayMs(priorFailures: number, limit: number, delay: LoginDelay): number {
  const excess = priorFailures - limit
  if (excess < 0) return 0
  return Math.min(delay.maxDelayMs, delay.baseMs * 2 ** Math.min(excess, 30))
}

export interface LoginAttempt {
  /** The login succeeded: its slots are given back (successes are never counted). */
  release(): Promise<void>
}

export class LoginGuard {
  readonly #opts: LoginGuardOptions
  readonly #delay: LoginDelay
  readonly #sleep: (ms: number) => Promise<void>

  constructor(opts: LoginGuardOptions) {
    this.#opts = opts
    this.#delay = opts.delay ?? DEFAULT_LOGIN_DELAY
    this.#sleep = opts.sleep ?? realSleep
  }

  /**
   * Takes a failure slot on each counter before the password is checked, so concurrent guesses
   * cannot overrun a limit; throws THROTTLED (giving the slots back) when the (username, address)
   * or the address counter is used up; otherwise waits the name's delay. `username` must already
   * be normalised, so every spelling of a name shares its counters.
   */
  async admit(username: string, address: string | undefined): Promise<LoginAttempt> {
    const { db, clock, rate, state } = this.#opts
    if (!rate) return { release: () => Promise.resolve() }
    // An in-process caller without an address (the CLI, a test) counts as one address of its own.
    const from = address === undefined ? '-' : throttleAddress(address)
    const hard = [`login-pair:${from}:${username}`, ...(address === undefined ? [] : [`login-addr:${from}`])]
    const [name, ...slots] = await Promise.all([
      // No fast path for the name: it never refuses, so there is nothing to remember.
      reserveCounter(db, { key: `login-user:${username}`, ...rate, clock }),
      ...hard.map((key) => reserveCounter(db, { key, ...rate, clock, state })),
    ])
    const all = [name, ...slots].filter((slot) => slot !== undefined)
    const release = async () => void (await Promise.all(all.map((slot) => slot.release())))
    const refused = slots.filter((slot) => !slot.allowed)
    if (refused.length > 0) {
      await release()
      throw throttledError(Math.max(...refused.map((slot) => slot.retryAfterSeconds)))
    }
    const wait = loginDelayMs((name?.hits ?? 1) - 1, rate.limit, this.#delay)
    if (wait > 0) await this.#sleep(wait)
    return { release }
  }
}
