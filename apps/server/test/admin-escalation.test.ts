/**
 * The security review's attacks on the admin procedures (issue 16, item 3): a user holding only
 * `change_user` must not climb. The rule (packages/auth/src/permissions/delegation.ts):
 * 1. nobody changes themselves, nor a group they belong to;
 * 2. only a superuser changes a superuser, a group a superuser belongs to, or isSuperuser;
 * 3. giving needs holding: a group by membership, a permission, staff status.
 * Taking away (removing from a group, revoking, deactivating) needs only the model permission.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { errorBody, login, loginAs, mutation, query, ROOT } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const SELF = 'You cannot change your own account here.'
const SUPERUSER = 'Only a superuser can change a superuser.'
const SUPERUSER_FLAG = 'Only a superuser can change isSuperuser.'
const STAFF = 'Only a staff user can give staff status.'
const notMember = (...groups: string[]) => `You cannot add users to groups you do not belong to: ${groups.join(', ')}.`
const notHeld = (...codenames: string[]) => `You cannot give permissions you do not hold: ${codenames.join(', ')}.`
const ownGroup = (group: string) => `You cannot change the group "${group}": you belong to it.`
const superGroup = (group: string) => `Only a superuser can change the group "${group}": a superuser belongs to it.`

const refused = (path: string, message: string) =>
  errorBody({ message, code: 'FORBIDDEN', httpStatus: 403, path, reason: 'NOT_PERMITTED' })

describe(`${TEST_BACKEND}: admin procedures are not a way up`, () => {
  const server = sharedServer()
  let root: string
  let rootId: number
  let n = 0
  beforeAll(async () => {
    const r = await loginAs(server, ROOT)
    rootId = r.id
    root = r.access
  })

  const unique = (prefix: string) => `${prefix}${process.pid}x${++n}`

  /** A fresh group holding these permissions, granted by the superuser. */
  async function group(...codenames: string[]) {
    const name = unique('G')
    await server.auth.createGroup(name)
    for (const codename of codenames)
      await mutation(server.url, 'admin.permissions.grant', { group: name, codename }, root)
    return name
  }

  /** A logged-in user with these direct permissions and groups (set before the login). */
  async function person(opts: { perms?: string[]; groups?: string[]; isStaff?: boolean; isSuperuser?: boolean } = {}) {
    const u = await server.createUser({ groups: opts.groups, isStaff: opts.isStaff, isSuperuser: opts.isSuperuser })
    for (const codename of opts.perms ?? []) {
      await mutation(server.url, 'admin.permissions.grant', { username: u.username, codename }, root)
    }
    return { ...u, access: (await login(server.url, u)).access }
  }

  const userOf = async (id: number) =>
    (await query(server.url, 'admin.users.get', { input: { id }, token: root })).body.result.data.user
  const effective = async (token: string) =>
    (await query(server.url, 'auth.me', { token })).body.result.data.permissions as string[]

  it('attack (a): a change_user holder cannot put himself in Admin', async () => {
    const managers = await group('change_user')
    const mallory = await person({ groups: [managers] })
    const res = await mutation(
      server.url,
      'admin.users.setGroups',
      { id: mallory.id, groups: [managers, 'Admin'] },
      mallory.access,
    )
    expect(res.body).toEqual(refused('admin.users.setGroups', SELF))
    expect(res.status).toBe(403)
    expect((await userOf(mallory.id)).groups).toEqual([managers])
    expect((await query(server.url, 'content.admin', { token: mallory.access })).status).toBe(403)
  })

  it('attack (a): nor an accomplice, since he is not in Admin himself', async () => {
    const mallory = await person({ perms: ['change_user'] })
    const accomplice = await person()
    const res = await mutation(
      server.url,
      'admin.users.setGroups',
      { id: accomplice.id, groups: ['Admin'] },
      mallory.access,
    )
    expect([res.status, res.body]).toEqual([403, refused('admin.users.setGroups', notMember('Admin'))])
    expect((await userOf(accomplice.id)).groups).toEqual([])
  })

  it('attack (b): joining a group that holds change_permission, then granting himself more, fails at the first step', async () => {
    const mallory = await person({ perms: ['change_user'] })
    const granters = await group('change_permission')
    const join = await mutation(
      server.url,
      'admin.users.setGroups',
      { id: mallory.id, groups: [granters] },
      mallory.access,
    )
    expect([join.status, join.body]).toEqual([403, refused('admin.users.setGroups', SELF)])
    const grant = await mutation(
      server.url,
      'admin.permissions.grant',
      { username: mallory.username, codename: 'delete_user' },
      mallory.access,
    )
    expect([grant.status, grant.body.error.data.reason]).toEqual([403, 'NOT_PERMITTED'])
    expect(await effective(mallory.access)).toEqual(['change_user'])
  })

  it('attack (b): even holding change_permission, nobody grants himself anything', async () => {
    const mallory = await person({ perms: ['change_permission', 'delete_user'] })
    const res = await mutation(
      server.url,
      'admin.permissions.grant',
      { username: mallory.username, codename: 'delete_user' },
      mallory.access,
    )
    expect([res.status, res.body]).toEqual([403, refused('admin.permissions.grant', SELF)])
    const revoke = await mutation(
      server.url,
      'admin.permissions.revoke',
      { username: mallory.username, codename: 'delete_user' },
      mallory.access,
    )
    expect([revoke.status, revoke.body]).toEqual([403, refused('admin.permissions.revoke', SELF)])
  })

  it('attack (c): a change_user holder cannot deactivate, reactivate, edit or regroup a superuser', async () => {
    const mallory = await person({ perms: ['change_user'], isStaff: true })
    const boss = await person({ isSuperuser: true, isStaff: true })
    const calls = [
      ['admin.users.deactivate', { id: boss.id }],
      ['admin.users.activate', { id: boss.id }],
      ['admin.users.update', { id: boss.id, email: 'mallory@example.com' }],
      ['admin.users.update', { id: boss.id, isStaff: false }],
      ['admin.users.setGroups', { id: boss.id, groups: [] }],
    ] as const
    for (const [path, input] of calls) {
      const res = await mutation(server.url, path, input, mallory.access)
      expect([path, res.status, res.body]).toEqual([path, 403, refused(path, SUPERUSER)])
    }
    expect(await userOf(boss.id)).toMatchObject({ isActive: true, isStaff: true, email: '' })
    expect((await query(server.url, 'auth.me', { token: boss.access })).status).toBe(200)
  })

  it('attack (c): a change_permission holder cannot grant to or revoke from a superuser', async () => {
    const mallory = await person({ perms: ['change_permission', 'view_article'] })
    const boss = await person({ isSuperuser: true, perms: ['view_article'] })
    for (const path of ['admin.permissions.grant', 'admin.permissions.revoke'] as const) {
      const res = await mutation(
        server.url,
        path,
        { username: boss.username, codename: 'view_article' },
        mallory.access,
      )
      expect([res.status, res.body]).toEqual([403, refused(path, SUPERUSER)])
    }
  })

  it('attack (d): granting a permission he does not hold, to an accomplice or to a group, is refused', async () => {
    const mallory = await person({ perms: ['change_permission'] })
    const accomplice = await person()
    const crew = await group()
    const direct = await mutation(
      server.url,
      'admin.permissions.grant',
      { username: accomplice.username, codename: 'delete_user' },
      mallory.access,
    )
    expect([direct.status, direct.body]).toEqual([403, refused('admin.permissions.grant', notHeld('delete_user'))])
    const viaGroup = await mutation(
      server.url,
      'admin.permissions.grant',
      { group: crew, codename: 'delete_user' },
      mallory.access,
    )
    expect([viaGroup.status, viaGroup.body]).toEqual([403, refused('admin.permissions.grant', notHeld('delete_user'))])
    expect(await effective(accomplice.access)).toEqual([])
  })

  it('attack (e): adding an accomplice to a group whose permissions he lacks is refused', async () => {
    const mallory = await person({ perms: ['change_user'] })
    const accomplice = await person()
    const powerful = await group('change_permission', 'delete_user')
    const res = await mutation(
      server.url,
      'admin.users.setGroups',
      { id: accomplice.id, groups: [powerful] },
      mallory.access,
    )
    expect([res.status, res.body]).toEqual([403, refused('admin.users.setGroups', notMember(powerful))])
    expect(await effective(accomplice.access)).toEqual([])
  })

  it('attack (f): flipping isStaff or isSuperuser on himself or, without holding it, on an accomplice', async () => {
    const mallory = await person({ perms: ['change_user'] })
    const accomplice = await person()
    const attempts = [
      [{ id: mallory.id, isStaff: true }, SELF],
      [{ id: mallory.id, isSuperuser: true }, SELF],
      [{ id: mallory.id, email: 'me@example.com' }, SELF],
      [{ id: accomplice.id, isSuperuser: true }, SUPERUSER_FLAG],
      [{ id: accomplice.id, isStaff: true }, STAFF],
    ] as const
    for (const [input, message] of attempts) {
      const res = await mutation(server.url, 'admin.users.update', input, mallory.access)
      expect([input, res.status, res.body]).toEqual([input, 403, refused('admin.users.update', message)])
    }
    expect(await userOf(accomplice.id)).toMatchObject({ isStaff: false, isSuperuser: false })
    expect(await userOf(mallory.id)).toMatchObject({ isStaff: false, isSuperuser: false, email: '' })
  })

  it('attack: deactivating himself or reactivating an account that holds more than he does', async () => {
    const mallory = await person({ perms: ['change_user'] })
    const self = await mutation(server.url, 'admin.users.deactivate', { id: mallory.id }, mallory.access)
    expect([self.status, self.body]).toEqual([403, refused('admin.users.deactivate', SELF)])
    // An account deactivated for a reason keeps its grants; bringing it back gives them back.
    const dormant = await person({ perms: ['change_permission'] })
    await mutation(server.url, 'admin.users.deactivate', { id: dormant.id }, root)
    const revive = await mutation(server.url, 'admin.users.activate', { id: dormant.id }, mallory.access)
    expect([revive.status, revive.body]).toEqual([403, refused('admin.users.activate', notHeld('change_permission'))])
    expect((await userOf(dormant.id)).isActive).toBe(false)
  })

  it('attack: a group change acts on its members: not his own group, not a superuser’s', async () => {
    const mallory = await person({ perms: ['change_permission', 'delete_group', 'view_article'] })
    const mine = await group()
    await mutation(server.url, 'admin.users.setGroups', { id: mallory.id, groups: [mine] }, root)
    mallory.access = (await login(server.url, mallory)).access // the group change revoked the old token
    const bosses = await group()
    await person({ isSuperuser: true, groups: [bosses] })
    for (const [name, message] of [
      [mine, ownGroup(mine)],
      [bosses, superGroup(bosses)],
    ] as const) {
      for (const path of ['admin.permissions.grant', 'admin.permissions.revoke'] as const) {
        const res = await mutation(server.url, path, { group: name, codename: 'view_article' }, mallory.access)
        expect([path, res.status, res.body]).toEqual([path, 403, refused(path, message)])
      }
      const deleted = await mutation(server.url, 'admin.groups.delete', { name }, mallory.access)
      expect([deleted.status, deleted.body]).toEqual([403, refused('admin.groups.delete', message)])
    }
  })

  it('should still let a superuser act on anyone but himself', async () => {
    const other = await person({ isSuperuser: true })
    const demote = await mutation(server.url, 'admin.users.update', { id: other.id, isSuperuser: false }, root)
    expect(demote.body.result.data.user).toMatchObject({ isSuperuser: false })
    for (const [path, input] of [
      ['admin.users.deactivate', { id: rootId }],
      ['admin.users.update', { id: rootId, isSuperuser: false }],
      ['admin.users.setGroups', { id: rootId, groups: ['Admin'] }],
    ] as const) {
      const res = await mutation(server.url, path, input, root)
      expect([path, res.status, res.body]).toEqual([path, 403, refused(path, SELF)])
    }
  })

  it('should let a delegate take away from ordinary users and give only what he holds', async () => {
    const editors = await group('change_article')
    const delegate = await person({
      perms: ['change_user', 'change_permission', 'view_article'],
      groups: [editors],
      isStaff: true,
    })
    const staffer = await person({ groups: [editors] })
    const ok = async (path: string, input: unknown) => {
      const res = await mutation(server.url, path, input, delegate.access)
      expect([path, res.status]).toEqual([path, 200])
      return res.body.result.data
    }
    // giving what he holds: his group, his permission, staff status
    const newcomer = await person()
    expect((await ok('admin.users.setGroups', { id: newcomer.id, groups: [editors] })).user.groups).toEqual([editors])
    expect(await ok('admin.permissions.grant', { username: newcomer.username, codename: 'view_article' })).toEqual({
      changed: true,
    })
    expect(
      (await ok('admin.users.update', { id: newcomer.id, isStaff: true, email: 'n@example.com' })).user,
    ).toMatchObject({
      isStaff: true,
      email: 'n@example.com',
    })
    // taking away, even a group he is not in
    const other = await group('delete_user')
    await mutation(server.url, 'admin.users.setGroups', { id: staffer.id, groups: [editors, other] }, root)
    expect((await ok('admin.users.setGroups', { id: staffer.id, groups: [editors] })).user.groups).toEqual([editors])
    expect((await ok('admin.users.update', { id: newcomer.id, isStaff: false })).user.isStaff).toBe(false)
    expect(await ok('admin.permissions.revoke', { username: newcomer.username, codename: 'view_article' })).toEqual({
      changed: true,
    })
    expect((await ok('admin.users.deactivate', { id: newcomer.id })).user.isActive).toBe(false)
    // bringing back an account that holds no more than he does
    expect((await ok('admin.users.activate', { id: newcomer.id })).user.isActive).toBe(true)
    // a group's permissions, when he is not a member and holds the permission
    const crew = await group()
    expect(await ok('admin.permissions.grant', { group: crew, codename: 'view_article' })).toEqual({ changed: true })
  })

  it('records each refusal in the audit log as permission.denied by AdminDelegation', async () => {
    const mallory = await person({ perms: ['change_user'] })
    await mutation(server.url, 'admin.users.update', { id: mallory.id, isStaff: true }, mallory.access)
    const events = (
      await query(server.url, 'admin.audit.list', {
        input: { userId: mallory.id, event: 'permission.denied' },
        token: root,
      })
    ).body.result.data.items
    expect(events).toEqual([
      expect.objectContaining({
        username: mallory.username,
        detail: { path: 'admin.users.update', permission: 'AdminDelegation', message: SELF },
      }),
    ])
  })

  it('REST: PUT /api/admin/users/{own id}/groups/ answers 403 with the rule in detail', async () => {
    const mallory = await person({ perms: ['change_user'] })
    const res = await fetch(`${server.url}/api/admin/users/${mallory.id}/groups/`, {
      method: 'PUT',
      body: JSON.stringify({ groups: ['Admin'] }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${mallory.access}` },
    })
    expect([res.status, await res.text()]).toEqual([403, JSON.stringify({ detail: SELF })])
  })
})
