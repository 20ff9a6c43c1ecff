/**
 * The per-user token epoch over HTTP: a password change, deactivation, a role change and
 * auth.logoutAll each make the user's outstanding access tokens answer 401 TOKEN_REVOKED on their
 * next request; a role change still lets the client refresh and carry on.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import type { NewUser } from './helpers/http.js'
import { errorBody, login, loginAs, mutation, obtainSliding, query, ROOT } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const revoked = (path: string) =>
  errorBody({ message: 'Token has been revoked', code: 'UNAUTHORIZED', httpStatus: 401, path, reason: 'TOKEN_REVOKED' })
const blacklisted = (path: string) =>
  errorBody({
    message: 'Token is blacklisted',
    code: 'UNAUTHORIZED',
    httpStatus: 401,
    path,
    reason: 'TOKEN_BLACKLISTED',
  })

describe(`${TEST_BACKEND}: token epoch`, () => {
  const server = sharedServer()
  let root: string
  beforeAll(async () => {
    root = (await loginAs(server, ROOT)).access
  })

  /** A new user with a token pair and a sliding token. */
  async function loggedIn(opts: NewUser = {}) {
    const u = await loginAs(server, opts)
    return { ...u, sliding: await obtainSliding(server.url, u) }
  }

  async function expectRevoked(token: string) {
    const res = await query(server.url, 'auth.me', { token })
    expect(res.status).toBe(401)
    expect(res.body).toEqual(revoked('auth.me'))
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"')
  }

  /** The client's way back after a role change: refresh, then the new access token works. */
  async function refreshAndGo(refresh: string, path = 'auth.me') {
    const renewed = await mutation(server.url, 'auth.refresh', { refresh })
    expect(renewed.status).toBe(200)
    const res = await query(server.url, path, { token: renewed.body.result.data.access })
    expect(res.status).toBe(200)
    return res
  }

  it('a password change: access → TOKEN_REVOKED; refresh and sliding tokens are blacklisted', async () => {
    const u = await loggedIn()
    await server.auth.changePassword(u.username, 'An0ther-passphrase', { skipValidation: true })
    await expectRevoked(u.access)
    expect((await mutation(server.url, 'auth.refresh', { refresh: u.refresh })).body).toEqual(
      blacklisted('auth.refresh'),
    )
    expect((await query(server.url, 'auth.me', { token: u.sliding })).body).toEqual(blacklisted('auth.me'))
    expect((await mutation(server.url, 'auth.sliding.refresh', { token: u.sliding })).body).toEqual(
      blacklisted('auth.sliding.refresh'),
    )
    const verify = await mutation(server.url, 'auth.verify', { token: u.access })
    expect(verify.body).toEqual(revoked('auth.verify'))
  })

  it('deactivation then reactivation: the old access token stays dead', async () => {
    const u = await loggedIn()
    expect((await mutation(server.url, 'admin.users.deactivate', { id: u.id }, root)).status).toBe(200)
    expect((await query(server.url, 'auth.me', { token: u.access })).body.error.data.reason).toBe('USER_INACTIVE')
    expect((await mutation(server.url, 'admin.users.activate', { id: u.id }, root)).status).toBe(200)
    await expectRevoked(u.access)
    expect((await mutation(server.url, 'auth.refresh', { refresh: u.refresh })).body).toEqual(
      blacklisted('auth.refresh'),
    )
    expect((await mutation(server.url, 'auth.sliding.refresh', { token: u.sliding })).body).toEqual(
      blacklisted('auth.sliding.refresh'),
    )
  })

  it('setGroups: revoked at once; the refresh token carries on with the new role', async () => {
    const u = await loggedIn()
    expect((await query(server.url, 'content.hr', { token: u.access })).status).toBe(403)
    expect((await mutation(server.url, 'admin.users.setGroups', { id: u.id, groups: ['HR'] }, root)).status).toBe(200)
    await expectRevoked(u.access)
    const hr = await refreshAndGo(u.refresh, 'content.hr')
    expect(hr.body).toEqual({ result: { data: { content: 'HR-only content' } } })
  })

  it('a sliding token after a role change: revoked as Bearer, re-stamped by its refresh', async () => {
    const u = await loggedIn()
    await server.auth.addToGroup(u.username, 'Manager')
    await expectRevoked(u.sliding)
    const refreshed = await mutation(server.url, 'auth.sliding.refresh', { token: u.sliding })
    expect(refreshed.status).toBe(200)
    const manager = await query(server.url, 'content.manager', { token: refreshed.body.result.data.token })
    expect(manager.body).toEqual({ result: { data: { content: 'Manager-only content' } } })
  })

  it('isStaff and isSuperuser changes are role changes; email is not', async () => {
    const u = await loggedIn()
    await mutation(server.url, 'admin.users.update', { id: u.id, email: 'new@example.com' }, root)
    expect((await query(server.url, 'auth.me', { token: u.access })).status).toBe(200)
    await mutation(server.url, 'admin.users.update', { id: u.id, isStaff: true }, root)
    await expectRevoked(u.access)
    const renewed = (await mutation(server.url, 'auth.refresh', { refresh: u.refresh })).body.result.data
    await mutation(server.url, 'admin.users.update', { id: u.id, isSuperuser: true }, root)
    await expectRevoked(renewed.access)
    expect(
      (
        await query(server.url, 'content.admin', {
          token: (await mutation(server.url, 'auth.refresh', { refresh: renewed.refresh })).body.result.data.access,
        })
      ).status,
    ).toBe(200)
  })

  it('removefromgroup and deleting a group are role changes for their members', async () => {
    const u = await loggedIn({ groups: ['HR'] })
    await server.auth.removeFromGroup(u.username, 'HR')
    await expectRevoked(u.access)
    const name = `Temp${Date.now()}`
    await server.auth.createGroup(name)
    await server.auth.addToGroup(u.username, name)
    const fresh = await login(server.url, u)
    expect((await mutation(server.url, 'admin.groups.delete', { name }, root)).status).toBe(200)
    await expectRevoked(fresh.access)
    await refreshAndGo(fresh.refresh)
  })

  it('auth.logoutAll ends every login of the caller, keeps their API keys, and no one else’s tokens', async () => {
    const u = await loggedIn()
    const other = await loggedIn()
    const second = await login(server.url, u)
    const key = (await mutation(server.url, 'auth.tokens.obtain', { username: u.username, password: u.password })).body
      .result.data.token

    const res = await mutation(server.url, 'auth.logoutAll', undefined, u.access)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ result: { data: { detail: 'Logged out everywhere.' } } })

    await expectRevoked(u.access)
    await expectRevoked(second.access)
    for (const refresh of [u.refresh, second.refresh]) {
      expect((await mutation(server.url, 'auth.refresh', { refresh })).body).toEqual(blacklisted('auth.refresh'))
    }
    expect((await query(server.url, 'auth.me', { token: u.sliding })).body).toEqual(blacklisted('auth.me'))
    expect((await mutation(server.url, 'auth.sliding.refresh', { token: u.sliding })).body).toEqual(
      blacklisted('auth.sliding.refresh'),
    )
    expect((await query(server.url, 'auth.me', { headers: { authorization: `Token ${key}` } })).status).toBe(200)
    expect((await query(server.url, 'auth.me', { token: other.access })).status).toBe(200)

    const events = await server.db
      .selectFrom('audit_events')
      .select('event')
      .where('user_id', '=', u.id)
      .where('event', '=', 'logout.everywhere')
      .execute()
    expect(events).toHaveLength(1)
    // The revoked token cannot call it again, and anonymous callers are told to authenticate.
    expect((await mutation(server.url, 'auth.logoutAll', undefined, u.access)).body).toEqual(revoked('auth.logoutAll'))
    const anonymous = await mutation(server.url, 'auth.logoutAll', undefined)
    expect(anonymous.status).toBe(401)
    expect(anonymous.body.error.data.reason).toBe('NOT_AUTHENTICATED')
  })
})
