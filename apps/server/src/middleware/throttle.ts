/**
 * DRF's throttles as tRPC middleware: AnonRateThrottle and UserRateThrottle on every procedure
 * (`throttle`, in the base chain), ScopedRateThrottle where a procedure opts in (`throttled`).
 * Counts live in the database, shared by every server process; see @gatehouse/auth's throttle.
 *
 * Plain functions rather than `middleware(...)` builders so the base chain in trpc.ts can use them
 * without importing back from it.
 */
import type { Rate } from '@gatehouse/auth'
import { throttleAddress, throttledError } from '@gatehouse/auth'

import type { Context } from '../context.js'

type ThrottleContext = Pick<Context, 'auth' | 'config' | 'authenticate' | 'address' | 'hasCredentials'>

/**
 * Who is counted: the user (DRF's `user.pk`) or, for anonymous callers, the client address.
 * null for an in-process call with neither, which is not throttled.
 */
async function identify(
  ctx: ThrottleContext,
): Promise<{ kind: 'user'; id: number } | { kind: 'anon'; address: string } | null> {
  // A request without a credential never pays for authentication here (DESIGN: lazy auth).
  if (ctx.hasCredentials?.()) {
    try {
      const user = await ctx.authenticate()
      if (user) return { kind: 'user', id: user.id }
    } catch {
      // A bad credential is counted as anonymous; the 401 is for whoever needs the user.
    }
  }
  // An IPv6 client is counted by its /64, which it usually holds whole (throttle/address.ts).
  return ctx.address ? { kind: 'anon', address: throttleAddress(ctx.address) } : null
}

async function enforce(ctx: ThrottleContext, counter: { key: string; rate: Rate }) {
  const { allowed, retryAfterSeconds } = await ctx.auth.throttle(counter.key, counter.rate)
  if (!allowed) throw throttledError(retryAfterSeconds)
}

/**
 * AnonRateThrottle + UserRateThrottle: `user:<id>` at THROTTLE_USER, `anon:<address>` at
 * THROTTLE_ANON. Runs before input parsing, so a refused request costs one counter at most.
 */
export async function throttle<R>(opts: { ctx: ThrottleContext; next: () => Promise<R> }): Promise<R> {
  const { ctx } = opts
  const { throttleAnon, throttleUser } = ctx.config
  if (throttleAnon || throttleUser) {
    const caller = await identify(ctx)
    if (caller?.kind === 'user' && throttleUser) await enforce(ctx, { key: `user:${caller.id}`, rate: throttleUser })
    if (caller?.kind === 'anon' && throttleAnon)
      await enforce(ctx, { key: `anon:${caller.address}`, rate: throttleAnon })
  }
  return opts.next()
}

/**
 * ScopedRateThrottle: counts calls of every procedure with this scope, per user or per anonymous
 * address, at the scope's rate in THROTTLE_RATES. A scope without a rate is not throttled.
 *
 * @example
 * register: publicProcedure.use(throttled('register')).mutation(...) // THROTTLE_RATES=register=20/h
 */
export function throttled(scope: string) {
  return async function throttled<R>(opts: { ctx: ThrottleContext; next: () => Promise<R> }): Promise<R> {
    const { ctx } = opts
    const rate = ctx.config.throttleRates.get(scope)
    if (rate) {
      const caller = await identify(ctx)
      const who =
        caller?.kind === 'user' ? `user:${caller.id}` : caller?.kind === 'anon' ? `anon:${caller.address}` : null
      if (who) await enforce(ctx, { key: `scope:${scope}:${who}`, rate })
    }
    return opts.next()
  }
}
