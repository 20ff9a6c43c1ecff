/**
 * The throttle middleware in process, without HTTP: which counters a call is keyed on (anonymous
 * address, user, a scope's own), and that it never authenticates a caller without credentials.
 */
import type { Rate } from '@gatehouse/auth'
import { describe, expect, it } from 'vitest'

import { loadConfig } from '../src/config.js'
import type { Context } from '../src/context.js'
import { publicProcedure, throttled } from '../src/procedures.js'
import { createCallerFactory, router } from '../src/trpc.js'

describe('the throttle middleware', () => {
  const testRouter = router({
    open: publicProcedure.query(() => 'ok'),
    scoped: publicProcedure.use(throttled('burst')).query(() => 'ok'),
  })
  const createCaller = createCallerFactory(testRouter)

  function caller(over: { address?: string; hasCredentials?: boolean; user?: { id: number } | null; rates?: string }) {
    const config = loadConfig({ THROTTLE_ANON: '5/min', THROTTLE_USER: '50/min', THROTTLE_RATES: over.rates ?? '' })
    const keys: string[] = []
    let authenticated = 0
    const ctx = {
      auth: {
        throttle: (key: string, rate: Rate) => {
          keys.push(`${key} @ ${rate.limit}/${rate.windowSeconds}`)
          return Promise.resolve({ allowed: true, remaining: 1, retryAfterSeconds: 1 })
        },
      } as unknown as Context['auth'],
      config,
      address: over.address,
      hasCredentials: () => over.hasCredentials ?? false,
      meta: { address: over.address },
      authenticate: () => {
        authenticated += 1
        return Promise.resolve((over.user ?? null) as Awaited<ReturnType<Context['authenticate']>>)
      },
      access: () => Promise.reject(new Error('not used')),
    } satisfies Context
    return { call: createCaller(ctx), keys, authenticated: () => authenticated }
  }

  it('never authenticates a request that carries no credential', async () => {
    const c = caller({ address: '192.0.2.1' })
    await c.call.open()
    expect(c.authenticated()).toBe(0)
    expect(c.keys).toEqual(['anon:192.0.2.1 @ 5/60'])
  })

  it('keys an authenticated caller by user id at the user rate', async () => {
    const c = caller({ address: '192.0.2.1', hasCredentials: true, user: { id: 7 } })
    await c.call.open()
    expect(c.keys).toEqual(['user:7 @ 50/60'])
  })

  it('adds the scope’s own counter only when the scope has a rate', async () => {
    const free = caller({ address: '192.0.2.1' })
    await free.call.scoped()
    expect(free.keys).toEqual(['anon:192.0.2.1 @ 5/60'])
    const limited = caller({ address: '192.0.2.1', hasCredentials: true, user: { id: 7 }, rates: 'burst=2/s' })
    await limited.call.scoped()
    expect(limited.keys).toEqual(['user:7 @ 50/60', 'scope:burst:user:7 @ 2/1'])
  })

  it('leaves in-process calls without an address unthrottled', async () => {
    const c = caller({})
    await c.call.scoped()
    expect(c.keys).toEqual([])
  })
})
