import { describe, expect, it } from 'vitest'

import type { AuthUser } from '../users/user.js'
import type { AccessObject, Action } from './decide.js'
import type { Permission, PermissionContext } from './permission.js'
import {
  actionOf,
  AllowAny,
  and,
  definePermission,
  HasGroup,
  IsAdminUser,
  IsAuthenticated,
  IsAuthenticatedOrReadOnly,
  IsOwner,
  IsOwnerOrReadOnly,
  ModelPermissions,
  ModelPermissionsOrAnonReadOnly,
  not,
  ObjectPermissions,
  or,
} from './permission.js'

function user(over: Partial<AuthUser> = {}): AuthUser {
  return { id: 7, username: 'u', email: '', isActive: true, isStaff: false, isSuperuser: false, groups: [], dateJoined: new Date(0), ...over }
}

function ctx(opts: { user?: AuthUser | null; type?: PermissionContext['type']; action?: Action; perms?: string[]; grants?: Record<string, Action[]> } = {}): PermissionContext {
  const type = opts.type ?? 'query'
  return {
    user: opts.user === undefined ? user() : opts.user,
    type,
    path: 'x.y',
    action: opts.action ?? (type === 'query' ? 'view' : 'change'),
    access: {
      permissions: () => Promise.resolve(new Set(opts.perms ?? [])),
      objectActions: (resource, id) => Promise.resolve(opts.grants?.[`${resource}:${id}`] ?? []),
    },
  }
}

const obj = (over: Record<string, unknown> = {}): AccessObject => ({ id: 1, authorId: 7, ...over })
const yes = definePermission({ name: 'yes', hasPermission: () => true, hasObjectPermission: () => true })
const no = definePermission({ name: 'no', hasPermission: () => false, hasObjectPermission: () => false })
const requestOnly = definePermission({ name: 'requestOnly', hasPermission: () => true }) // no object rule

async function both(p: Permission, c: PermissionContext, o: AccessObject = obj()) {
  return [await p.hasPermission(c), await (p.hasObjectPermission?.(c, o) ?? true)]
}

function counting(result: boolean) {
  let calls = 0
  const p = definePermission({ name: `count(${result})`, hasPermission: () => (calls++, result) })
  return { p, calls: () => calls }
}

describe('built-in permissions', () => {
  it('AllowAny, IsAuthenticated, IsAdminUser, IsAuthenticatedOrReadOnly', async () => {
    expect(await AllowAny.hasPermission(ctx({ user: null }))).toBe(true)
    expect(await IsAuthenticated.hasPermission(ctx({ user: null }))).toBe(false)
    expect(await IsAuthenticated.hasPermission(ctx())).toBe(true)
    expect(await IsAdminUser.hasPermission(ctx())).toBe(false)
    expect(await IsAdminUser.hasPermission(ctx({ user: user({ isStaff: true }) }))).toBe(true)
    expect(await IsAuthenticatedOrReadOnly.hasPermission(ctx({ user: null, type: 'query' }))).toBe(true)
    expect(await IsAuthenticatedOrReadOnly.hasPermission(ctx({ user: null, type: 'mutation' }))).toBe(false)
  })

  it('ModelPermissions enforces view_ too, unlike DRF; superusers hold everything', async () => {
    const p = ModelPermissions('article')
    expect(await p.hasPermission(ctx({ action: 'view' }))).toBe(false)
    expect(await p.hasPermission(ctx({ action: 'view', perms: ['view_article'] }))).toBe(true)
    expect(await p.hasPermission(ctx({ action: 'change', perms: ['view_article'] }))).toBe(false)
    expect(await p.hasPermission(ctx({ action: 'delete', user: user({ isSuperuser: true }) }))).toBe(true)
    expect(await p.hasPermission(ctx({ user: null }))).toBe(false)
    const anon = ModelPermissionsOrAnonReadOnly('article')
    expect(await anon.hasPermission(ctx({ user: null, type: 'query' }))).toBe(true)
    expect(await anon.hasPermission(ctx({ user: null, type: 'mutation' }))).toBe(false)
  })

  it('ObjectPermissions: a grant on the object is enough, on that object only', async () => {
    const p = ObjectPermissions('article')
    const c = ctx({ type: 'mutation', action: 'change', grants: { 'article:1': ['change'] } })
    expect(await both(p, c, obj({ id: 1 }))).toEqual([true, true])
    expect(await both(p, c, obj({ id: 2 }))).toEqual([true, false])
    expect(await both(p, ctx({ type: 'mutation', action: 'delete', grants: { 'article:1': ['change'] } }), obj({ id: 1 }))).toEqual([true, false])
    expect(await both(p, ctx({ type: 'mutation', action: 'change', perms: ['change_article'] }), obj({ id: 2 }))).toEqual([true, true])
  })

  it('IsOwner and IsOwnerOrReadOnly', async () => {
    expect(await both(IsOwner('authorId'), ctx({ type: 'mutation' }), obj())).toEqual([true, true])
    expect(await both(IsOwner('authorId'), ctx({ type: 'mutation' }), obj({ authorId: 8 }))).toEqual([true, false])
    expect(await both(IsOwnerOrReadOnly('authorId'), ctx({ type: 'query', user: null }), obj({ authorId: 8 }))).toEqual([true, true])
    expect(await both(IsOwnerOrReadOnly('authorId'), ctx({ type: 'mutation' }), obj({ authorId: 8 }))).toEqual([true, false])
  })

  it('HasGroup, with and without the superuser bypass', async () => {
    const root = ctx({ user: user({ isSuperuser: true }) })
    expect(await HasGroup(['HR']).hasPermission(root)).toBe(true)
    expect(await HasGroup(['HR'], { superuserBypass: false }).hasPermission(root)).toBe(false)
    expect(await HasGroup(['HR', 'Admin']).hasPermission(ctx({ user: user({ groups: ['Admin'] }) }))).toBe(true)
  })

  it('actionOf maps procedures to actions', () => {
    expect(actionOf('query', 'articles.list')).toBe('view')
    expect(actionOf('mutation', 'articles.create')).toBe('add')
    expect(actionOf('mutation', 'articles.update')).toBe('change')
    expect(actionOf('mutation', 'articles.delete')).toBe('delete')
    expect(actionOf('mutation', 'articles.share')).toBe('change')
  })
})

describe('composition laws', () => {
  const cases: [string, Permission][] = [
    ['yes', yes],
    ['no', no],
    ['requestOnly', requestOnly],
    ['IsOwner', IsOwner('authorId')],
    ['IsAdminUser', IsAdminUser],
  ]
  const contexts = [ctx(), ctx({ user: null }), ctx({ type: 'mutation' }), ctx({ user: user({ isStaff: true }) })]
  const objects = [obj(), obj({ authorId: 99 })]

  for (const [name, p] of cases) {
    it(`not(not(${name})) agrees with ${name} at both levels`, async () => {
      for (const c of contexts) for (const o of objects) expect(await both(not(not(p)), c, o)).toEqual(await both(p, c, o))
    })
  }

  it('and stops at the first refusal, or at the first allowance', async () => {
    const a = counting(false)
    const b = counting(true)
    expect(await and(a.p, b.p).hasPermission(ctx())).toBe(false)
    expect([a.calls(), b.calls()]).toEqual([1, 0])
    const c = counting(true)
    const d = counting(false)
    expect(await or(c.p, d.p).hasPermission(ctx())).toBe(true)
    expect([c.calls(), d.calls()]).toEqual([1, 0])
  })

  it('and/or with an operand that has no object rule inherit "allowed" at object level', async () => {
    expect(await both(and(requestOnly, yes), ctx())).toEqual([true, true])
    const objectNo = definePermission({ name: 'objectNo', hasPermission: () => true, hasObjectPermission: () => false })
    expect(await both(and(requestOnly, objectNo), ctx())).toEqual([true, false])
    expect(await both(or(requestOnly, objectNo), ctx())).toEqual([true, true])
  })

  it('or at object level counts only operands that also allowed the request (DRF 3.14)', async () => {
    // IsAdminUser has no object rule; for a non-staff user it must not open every object
    const p = or(IsAdminUser, IsOwner('authorId'))
    expect(await both(p, ctx({ type: 'mutation' }), obj({ authorId: 99 }))).toEqual([true, false])
    expect(await both(p, ctx({ type: 'mutation' }), obj())).toEqual([true, true])
    expect(await both(p, ctx({ type: 'mutation', user: user({ isStaff: true, id: 1 }) }), obj({ authorId: 99 }))).toEqual([true, true])
  })

  it('de Morgan: not(or(a, b)) == and(not(a), not(b)) at request level', async () => {
    for (const [, a] of cases) {
      for (const [, b] of cases) {
        for (const c of contexts) {
          expect(await not(or(a, b)).hasPermission(c)).toBe(await and(not(a), not(b)).hasPermission(c))
        }
      }
    }
  })
})
