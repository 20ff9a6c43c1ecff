import type { AuthUser } from '@gatehouse/auth'
import { and, definePermission, HasGroup, IsAdminUser, IsAuthenticatedOrReadOnly, not, or } from '@gatehouse/auth'
import type { TRPCError } from '@trpc/server'
import { describe, expect, it } from 'vitest'

import type { Context } from '../src/context.js'
import type { PermissionName } from '../src/config.js'
import { loadConfig } from '../src/config.js'
import { permitted, procedure, publicProcedure } from '../src/procedures.js'
import { createCallerFactory, router } from '../src/trpc.js'

// A router of our own, called through createCaller with a hand-made context: the permission
// machinery is tested without HTTP and without a database.
const testRouter = router({
  read: procedure.query(() => 'read'),
  write: procedure.mutation(() => 'written'),
  staffOnly: publicProcedure.use(permitted(IsAdminUser)).query(() => 'staff'),
  editors: publicProcedure
    .use(permitted(or(HasGroup(['Editors'], { superuserBypass: false }), IsAdminUser)))
    .query(() => 'edit'),
  notHr: publicProcedure.use(permitted(not(HasGroup(['HR'], { superuserBypass: false })))).query(() => 'not hr'),
  ordered: publicProcedure
    .use(
      permitted(
        and(IsAuthenticatedOrReadOnly),
        definePermission({ name: 'AlwaysNo', hasPermission: () => false, message: 'Custom refusal message.' }),
      ),
    )
    .query(() => 'never'),
})
const createCaller = createCallerFactory(testRouter)

function user(over: Partial<AuthUser> = {}): AuthUser {
  return {
    id: 1,
    username: 'u',
    email: '',
    isActive: true,
    isStaff: false,
    isSuperuser: false,
    groups: [],
    dateJoined: new Date(0),
    ...over,
  }
}

function caller(who: AuthUser | null, defaultPermission: PermissionName = 'IsAuthenticated') {
  const config = loadConfig({ DEFAULT_PERMISSION: defaultPermission })
  let authenticated = 0
  const ctx = {
    // Refusals are written to the audit log (see audit.test.ts); here they go nowhere.
    auth: { audit: () => Promise.resolve(), settle: () => Promise.resolve() } as unknown as Context['auth'],
    config,
    meta: {},
    authenticate: () => {
      authenticated += 1
      return Promise.resolve(who)
    },
    access: () => Promise.resolve({ permissions: () => Promise.resolve(new Set<string>()), objectActions: () => Promise.resolve([]) }),
  } satisfies Context
  return { call: createCaller(ctx), authenticated: () => authenticated }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'OK'
  } catch (err) {
    return (err as TRPCError).code
  }
}

describe('permissions', () => {
  it.each([
    ['IsAuthenticated', null, 'UNAUTHORIZED', 'UNAUTHORIZED'],
    ['IsAuthenticated', user(), 'OK', 'OK'],
    ['AllowAny', null, 'OK', 'OK'],
    ['IsAuthenticatedOrReadOnly', null, 'OK', 'UNAUTHORIZED'],
    ['IsAuthenticatedOrReadOnly', user(), 'OK', 'OK'],
    ['IsAdminUser', user(), 'FORBIDDEN', 'FORBIDDEN'],
    ['IsAdminUser', user({ isStaff: true }), 'OK', 'OK'],
  ] as const)('DEFAULT_PERMISSION=%s for %o: query %s, mutation %s', async (...[name, who, read, write]) => {
    const { call } = caller(who, name)
    expect(await codeOf(call.read())).toBe(read)
    expect(await codeOf(call.write())).toBe(write)
  })

  it('is lazy: AllowAny never authenticates', async () => {
    const c = caller(null, 'AllowAny')
    await c.call.read()
    expect(c.authenticated()).toBe(0)
  })

  it('or / not keep their meaning, and anonymous callers get 401 rather than 403', async () => {
    expect(await codeOf(caller(user({ groups: ['Editors'] })).call.editors())).toBe('OK')
    expect(await codeOf(caller(user({ isStaff: true })).call.editors())).toBe('OK')
    expect(await codeOf(caller(user()).call.editors())).toBe('FORBIDDEN')
    expect(await codeOf(caller(null).call.editors())).toBe('UNAUTHORIZED')
    expect(await codeOf(caller(user()).call.notHr())).toBe('OK')
    expect(await codeOf(caller(user({ groups: ['HR'] })).call.notHr())).toBe('FORBIDDEN')
  })

  it('runs in order and the first refusal decides, with its own message', async () => {
    await expect(caller(user()).call.ordered()).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'Custom refusal message.' })
    const c = caller(user({ isStaff: true }))
    await expect(c.call.staffOnly()).resolves.toBe('staff')
  })
})
