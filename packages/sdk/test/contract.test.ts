/**
 * The DESIGN table, row by row, through the SDK: each procedure's success output exactly, and
 * each of its error paths with the exact code, status and reason.
 */
import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { GatehouseClient } from '../src/index.js'
import { ACTIONS, CATALOGUE, createGatehouseClient, isGatehouseError } from '../src/index.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const client = () => createGatehouseClient({ url: server.url })

async function failure(p: Promise<unknown>) {
  try {
    await p
  } catch (e) {
    if (!isGatehouseError(e)) throw e
    return { code: e.data.code, status: e.data.httpStatus, reason: e.data.reason, fieldErrors: e.data.fieldErrors, message: e.message }
  }
  throw new Error('expected the call to fail')
}

async function loggedIn(opts: Parameters<TestServer['createUser']>[0] = {}): Promise<GatehouseClient> {
  const u = await server.createUser(opts)
  const c = client()
  await c.auth.login({ username: u.username, password: u.password })
  return c
}

const USER_SHAPE = {
  id: expect.any(Number),
  username: expect.any(String),
  email: expect.any(String),
  isStaff: expect.any(Boolean),
  isSuperuser: expect.any(Boolean),
  groups: expect.any(Array),
  dateJoined: expect.any(String),
}

describe(`${TEST_BACKEND}: the DESIGN table through the SDK`, () => {
  it('auth.register → {user}; 409 for a taken name; 400 with field errors', async () => {
    const name = `reg${Date.now()}`
    const out = await client().auth.register({ username: name, password: 'Tr1cky-passphrase' })
    expect(out).toEqual({ user: { ...USER_SHAPE, username: name, email: '', groups: [] } })
    expect(Object.keys(out.user).sort()).toEqual(['dateJoined', 'email', 'groups', 'id', 'isStaff', 'isSuperuser', 'username'])
    expect(await failure(client().auth.register({ username: name, password: 'Tr1cky-passphrase' }))).toMatchObject({
      code: 'CONFLICT',
      status: 409,
      reason: 'USERNAME_TAKEN',
      fieldErrors: { username: ['A user with that username already exists.'] },
    })
    expect(await failure(client().auth.register({ username: `${name}x`, password: 'short' }))).toMatchObject({
      code: 'BAD_REQUEST',
      status: 400,
      reason: 'PASSWORD_INVALID',
      fieldErrors: { password: ['This password is too short. It must contain at least 8 characters.'] },
    })
  })

  it('auth.login → {access, refresh, user}; 401 INVALID_CREDENTIALS', async () => {
    const u = await server.createUser()
    const out = await client().auth.login({ username: u.username, password: u.password })
    expect(out).toEqual({ access: expect.any(String), refresh: expect.any(String), user: { ...USER_SHAPE, id: u.id } })
    expect(await failure(client().auth.login({ username: u.username, password: 'nope-nope' }))).toEqual({
      code: 'UNAUTHORIZED',
      status: 401,
      reason: 'INVALID_CREDENTIALS',
      fieldErrors: undefined,
      message: 'Invalid credentials',
    })
  })

  it('auth.refresh → {access, refresh}; the old token again at once is a grace pair, after logout 401', async () => {
    const u = await server.createUser()
    const first = await client().auth.login({ username: u.username, password: u.password })
    const out = await client().auth.refresh({ refresh: first.refresh })
    expect(out).toEqual({ access: expect.any(String), refresh: expect.any(String) })
    // within REFRESH_REUSE_INTERVAL (two tabs at once): a new pair of the same login
    const again = await client().auth.refresh({ refresh: first.refresh })
    expect(again.refresh).not.toBe(out.refresh)
    await client().auth.logout({ refresh: out.refresh })
    expect(await failure(client().auth.refresh({ refresh: first.refresh }))).toMatchObject({
      status: 401,
      reason: 'TOKEN_BLACKLISTED',
    })
  })

  it('auth.logout → {detail}; the token is blacklisted', async () => {
    const u = await server.createUser()
    const { refresh } = await client().auth.login({ username: u.username, password: u.password })
    expect(await client().auth.logout({ refresh })).toEqual({ detail: 'Successfully logged out.' })
    expect(await failure(client().auth.refresh({ refresh }))).toMatchObject({ status: 401, reason: 'TOKEN_BLACKLISTED' })
  })

  it('auth.verify → {valid, tokenType, exp}; invalid → 401', async () => {
    const u = await server.createUser()
    const { access } = await client().auth.login({ username: u.username, password: u.password })
    const out = await client().auth.verify({ token: access })
    expect(out).toEqual({ valid: true, tokenType: 'access', exp: expect.any(Number) })
    expect(await failure(client().auth.verify({ token: 'a.b.c' }))).toMatchObject({ status: 401, reason: 'TOKEN_INVALID' })
  })

  it('auth.me → {user, permissions, objectPermissions}; 401 when anonymous', async () => {
    const c = await loggedIn()
    expect(await c.auth.me()).toEqual({ user: USER_SHAPE, permissions: [], objectPermissions: {} })
    const editor = await loggedIn({ groups: ['Editors'] })
    expect(await editor.auth.me()).toMatchObject({
      user: { groups: ['Editors'] },
      permissions: ['change_article', 'delete_article', 'view_article'],
      objectPermissions: {},
    })
    expect(await failure(client().auth.me())).toMatchObject({ code: 'UNAUTHORIZED', status: 401, reason: 'NOT_AUTHENTICATED' })
  })

  it('auth.catalogue → {actions, resources}: the rules the SDK copied, for anyone', async () => {
    const wire: unknown = JSON.parse(JSON.stringify({ actions: ACTIONS, resources: CATALOGUE }))
    expect(await client().auth.catalogue()).toEqual(wire)
  })

  const content = {
    protected: { message: 'This is a protected view' },
    admin: { content: 'Admin-only content' },
    manager: { content: 'Manager-only content' },
    hr: { content: 'HR-only content' },
  } as const

  it('content.* → their bodies for the right caller; 401 anonymous, 403 otherwise', async () => {
    const plain = await loggedIn()
    const roles = {
      admin: await loggedIn({ groups: ['Admin'] }),
      manager: await loggedIn({ groups: ['Manager'] }),
      hr: await loggedIn({ groups: ['HR'] }),
    }
    expect(await plain.content.protected()).toEqual(content.protected)
    for (const name of ['admin', 'manager', 'hr'] as const) {
      expect(await roles[name].content[name]()).toEqual(content[name])
      expect(await failure(plain.content[name]())).toEqual({
        code: 'FORBIDDEN',
        status: 403,
        reason: 'NOT_PERMITTED',
        fieldErrors: undefined,
        message: 'You do not have permission to perform this action.',
      })
    }
    for (const name of Object.keys(content) as (keyof typeof content)[]) {
      expect(await failure(client().content[name]())).toMatchObject({ status: 401, reason: 'NOT_AUTHENTICATED' })
    }
  })
})
