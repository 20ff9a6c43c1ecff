/**
 * A mutation answers only after `auth.settle()`: the credential changes it committed have reached
 * this process's auth cache (docs/design.md, "Auth cache and invalidation"), so a revocation holds
 * here before the client hears of it. Queries never pay for it. Without a database: a router of
 * our own over the real base chain, with a hand-made context that records the order of events.
 */
import type { TRPCError } from '@trpc/server'
import { describe, expect, it } from 'vitest'

import type { Context } from '../src/context.js'
import { loadConfig } from '../src/config.js'
import { publicProcedure } from '../src/procedures.js'
import { createCallerFactory, router } from '../src/trpc.js'

const testRouter = router({
  revoke: publicProcedure.mutation(async () => {
    await Promise.resolve()
    events.push('resolver')
    return 'revoked'
  }),
  fail: publicProcedure.mutation(() => {
    events.push('resolver')
    throw new Error('boom')
  }),
  read: publicProcedure.query(() => {
    events.push('resolver')
    return 'read'
  }),
})

let events: string[] = []

function call() {
  const ctx = {
    auth: {
      audit: () => Promise.resolve(),
      // Resolves a turn later, as the NOTIFY round trip does: the answer must wait for it.
      settle: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5))
        events.push('settled')
      },
    } as unknown as Context['auth'],
    config: loadConfig({ THROTTLE_ANON: 'off', THROTTLE_USER: 'off' }),
    meta: {},
    authenticate: () => Promise.resolve(null),
    access: () =>
      Promise.resolve({
        permissions: () => Promise.resolve(new Set<string>()),
        objectActions: () => Promise.resolve([]),
      }),
  } satisfies Context
  return createCallerFactory(testRouter)(ctx)
}

describe('settle after mutations', () => {
  it('a mutation answers after the cache has settled, not before', async () => {
    events = []
    await expect(call().revoke()).resolves.toBe('revoked')
    events.push('answered')
    expect(events).toEqual(['resolver', 'settled', 'answered'])
  })

  it('a failed mutation settles too (it may have committed before it failed), and keeps its error', async () => {
    events = []
    const error = await call()
      .fail()
      .catch((e: unknown) => e as TRPCError)
    events.push('answered')
    expect(error).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' })
    expect(events).toEqual(['resolver', 'settled', 'answered'])
  })

  it('a query does not wait for the cache', async () => {
    events = []
    await expect(call().read()).resolves.toBe('read')
    expect(events).toEqual(['resolver'])
  })
})
