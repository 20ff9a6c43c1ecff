import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { loginAs, mutation, query, ROOT } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

describe(`${TEST_BACKEND}: users, groups and grants`, () => {
  const server = sharedServer()
  let root: string
  beforeAll(async () => {
    root = (await loginAs(server, ROOT)).access
  })

  it('lists users with search and keyset pagination, without any hash', async () => {
    const tag = `srch${Date.now()}`
    for (let i = 0; i < 3; i++) await server.createUser({ username: `${tag}_${i}` })
    const first = await query(server.url, 'admin.users.list', { input: { search: tag, limit: 2 }, token: root })
    expect(first.status).toBe(200)
    const page = first.body.result.data
    expect(page.items.map((u: { username: string }) => u.username)).toEqual([`${tag}_0`, `${tag}_1`])
    expect(page.items[0]).toEqual({
      id: expect.any(Number),
      username: `${tag}_0`,
      email: '',
      isActive: true,
      isStaff: false,
      isSuperuser: false,
      groups: [],
      permissions: [],
      dateJoined: expect.any(String),
      lastLogin: null,
    })
    const second = (
      await query(server.url, 'admin.users.list', {
        input: { search: tag, limit: 2, cursor: page.nextCursor },
        token: root,
      })
    ).body.result.data
    expect(second).toMatchObject({ items: [{ username: `${tag}_2` }], nextCursor: null })
    // LIKE wildcards in the search are literal
    const none = (await query(server.url, 'admin.users.list', { input: { search: '%' }, token: root })).body.result.data
    expect(none.items).toEqual([])
    expect(JSON.stringify(first.body)).not.toMatch(/password|bcrypt/)
  })

  it('needs the model permission: view_user for reading, change_user for writing', async () => {
    const staff = await loginAs(server, { isStaff: true })
    expect((await query(server.url, 'admin.users.list', { token: staff.access })).status).toBe(403)
    expect((await query(server.url, 'admin.users.list')).status).toBe(401)
    await mutation(server.url, 'admin.permissions.grant', { username: staff.username, codename: 'view_user' }, root)
    // effective on the next request, same token
    expect((await query(server.url, 'admin.users.list', { token: staff.access })).status).toBe(200)
    expect((await mutation(server.url, 'admin.users.deactivate', { id: staff.id }, staff.access)).status).toBe(403)
    await mutation(server.url, 'admin.permissions.revoke', { username: staff.username, codename: 'view_user' }, root)
    expect((await query(server.url, 'admin.users.list', { token: staff.access })).status).toBe(403)
  })

  it('grants to a group reach its members on their next request', async () => {
    const member = await loginAs(server, { groups: ['Auditors'] })
    expect((await query(server.url, 'admin.groups.list', { token: member.access })).status).toBe(403)
    const granted = await mutation(
      server.url,
      'admin.permissions.grant',
      { group: 'Auditors', codename: 'view_group' },
      root,
    )
    expect(granted.body).toEqual({ result: { data: { changed: true } } })
    const list = await query(server.url, 'admin.groups.list', { token: member.access })
    expect(list.status).toBe(200)
    expect(list.body.result.data.items).toEqual(
      expect.arrayContaining([{ id: expect.any(Number), name: 'Auditors', members: 1, permissions: ['view_group'] }]),
    )
  })

  it('deactivation stops the user at their next request and ends their tokens, for good', async () => {
    const u = await loginAs(server)
    expect((await query(server.url, 'auth.me', { token: u.access })).status).toBe(200)
    const res = await mutation(server.url, 'admin.users.deactivate', { id: u.id }, root)
    expect(res.body.result.data.user).toMatchObject({ id: u.id, isActive: false })
    expect((await query(server.url, 'auth.me', { token: u.access })).body.error.data.reason).toBe('USER_INACTIVE')
    expect((await mutation(server.url, 'auth.refresh', { refresh: u.refresh })).status).toBe(401)
    await mutation(server.url, 'admin.users.activate', { id: u.id }, root)
    // Reactivation does not revive the old access token: the deactivation moved the token epoch on.
    expect((await query(server.url, 'auth.me', { token: u.access })).body.error.data.reason).toBe('TOKEN_REVOKED')
    const again = await mutation(server.url, 'auth.login', { username: u.username, password: u.password })
    expect((await query(server.url, 'auth.me', { token: again.body.result.data.access })).status).toBe(200)
  })

  it('setGroups replaces the groups, effective on the next request; unknown groups are named', async () => {
    const u = await loginAs(server)
    expect((await query(server.url, 'content.hr', { token: u.access })).status).toBe(403)
    const set = await mutation(server.url, 'admin.users.setGroups', { id: u.id, groups: ['HR', 'Manager'] }, root)
    expect(set.body.result.data.user.groups).toEqual(['HR', 'Manager'])
    // A role change revokes the access token; the refresh token carries on with the new epoch.
    expect((await query(server.url, 'content.hr', { token: u.access })).body.error.data.reason).toBe('TOKEN_REVOKED')
    const renewed = (await mutation(server.url, 'auth.refresh', { refresh: u.refresh })).body.result.data
    expect((await query(server.url, 'content.hr', { token: renewed.access })).status).toBe(200)
    const bad = await mutation(server.url, 'admin.users.setGroups', { id: u.id, groups: ['Nope'] }, root)
    expect(bad.status).toBe(400)
    expect(bad.body.error.data.fieldErrors).toEqual({ groups: ['No group named "Nope".'] })
    // a user that does not exist is 404, groups or not (it was a foreign-key 500 with groups)
    for (const groups of [['HR'], []]) {
      const missing = await mutation(server.url, 'admin.users.setGroups', { id: 1_999_999_999, groups }, root)
      expect([missing.status, missing.body.error.message]).toEqual([404, 'No user with id 1999999999.'])
    }
    // the same change sent six times at once: six answers, no unique-violation 500
    const same = await Promise.all(
      Array.from({ length: 6 }, () =>
        mutation(server.url, 'admin.users.setGroups', { id: u.id, groups: ['Manager'] }, root),
      ),
    )
    expect(same.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200])
  })

  it('only a superuser changes isSuperuser; a staff change_user holder sets isStaff and email on others', async () => {
    const manager = await loginAs(server, { isStaff: true })
    const colleague = await loginAs(server)
    await mutation(server.url, 'admin.permissions.grant', { username: manager.username, codename: 'change_user' }, root)
    const promote = await mutation(
      server.url,
      'admin.users.update',
      { id: colleague.id, isSuperuser: true },
      manager.access,
    )
    expect([promote.status, promote.body.error.message]).toEqual([403, 'Only a superuser can change isSuperuser.'])
    const staffed = await mutation(
      server.url,
      'admin.users.update',
      { id: colleague.id, isStaff: true, email: 'c@example.com' },
      manager.access,
    )
    expect(staffed.body.result.data.user).toMatchObject({ isStaff: true, email: 'c@example.com' })
    // nobody changes their own account here, not even their email (admin-escalation.test.ts has the rest)
    const self = await mutation(
      server.url,
      'admin.users.update',
      { id: manager.id, email: 'm@example.com' },
      manager.access,
    )
    expect([self.status, self.body.error.message]).toEqual([403, 'You cannot change your own account here.'])
  })

  it('creates and deletes groups, lists permissions, and names unknown codenames', async () => {
    const name = `G${Date.now()}`
    expect((await mutation(server.url, 'admin.groups.create', { name }, root)).body.result.data).toMatchObject({
      created: true,
    })
    expect((await mutation(server.url, 'admin.groups.create', { name }, root)).body.result.data).toMatchObject({
      created: false,
    })
    expect((await mutation(server.url, 'admin.groups.delete', { name }, root)).status).toBe(200)
    expect((await mutation(server.url, 'admin.groups.delete', { name }, root)).status).toBe(404)
    const perms = (await query(server.url, 'admin.permissions.list', { token: root })).body.result.data.items
    expect(perms).toContainEqual({ codename: 'change_article', resource: 'article', name: 'Can change article' })
    const unknown = await mutation(
      server.url,
      'admin.permissions.grant',
      { username: 'x', codename: 'fly_plane' },
      root,
    )
    expect(unknown.status).toBe(404)
    const shape = await mutation(server.url, 'admin.permissions.grant', { codename: 'view_user' }, root)
    expect(shape.status).toBe(400)
  })
})
