/**
 * auth.tokens.register: the seed's DRF `register` that answers with a token. Same validation,
 * errors and throttle scope as auth.register; the token is the new user's DRF key (40 hex, one per user).
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { startTestServer } from '../src/testing.js'
import { errorBody, mutation, query } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

describe(`${TEST_BACKEND}: auth.tokens.register`, () => {
  const server = sharedServer()

  it('answers {user, token}; the token authenticates as Authorization: Token and is the default key', async () => {
    const res = await mutation(server.url, 'auth.tokens.register', {
      username: 'regtok',
      password: 'Tr1cky-passphrase',
      email: 'r@example.com',
    })
    expect(res.status).toBe(200)
    const { user, token } = res.body.result.data
    expect(user).toEqual({
      id: expect.any(Number),
      username: 'regtok',
      email: 'r@example.com',
      isStaff: false,
      isSuperuser: false,
      groups: [],
      dateJoined: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    })
    expect(token).toMatch(/^[0-9a-f]{40}$/)
    const me = await query(server.url, 'auth.me', { headers: { authorization: `Token ${token}` } })
    expect(me.body.result.data.user).toMatchObject({ id: user.id, username: 'regtok' })
    // It is the default key, DRF's one per user: auth.tokens.obtain answers it again, and it keeps working.
    const listed = await query(server.url, 'auth.tokens.list', { headers: { authorization: `Token ${token}` } })
    expect(listed.body.result.data.items).toMatchObject([{ name: 'default', expiresAt: null }])
    const obtained = await mutation(server.url, 'auth.tokens.obtain', {
      username: 'regtok',
      password: 'Tr1cky-passphrase',
    })
    expect(obtained.body.result.data).toEqual({ token })
    expect((await query(server.url, 'auth.me', { headers: { authorization: `Token ${token}` } })).status).toBe(200)
  })

  it('refuses what auth.register refuses, with the same errors, and creates nothing', async () => {
    await mutation(server.url, 'auth.register', { username: 'taken', password: 'Tr1cky-passphrase' })
    const dup = await mutation(server.url, 'auth.tokens.register', { username: 'taken', password: 'Tr1cky-passphrase' })
    expect(dup.status).toBe(409)
    expect(dup.body).toEqual(
      errorBody({
        message: 'A user with that username already exists.',
        code: 'CONFLICT',
        httpStatus: 409,
        path: 'auth.tokens.register',
        reason: 'USERNAME_TAKEN',
        fieldErrors: { username: ['A user with that username already exists.'] },
      }),
    )
    const weak = await mutation(server.url, 'auth.tokens.register', { username: 'weakling', password: '1234567' })
    expect(weak.status).toBe(400)
    expect(weak.body.error.data.reason).toBe('PASSWORD_INVALID')
    expect(weak.body.error.data.fieldErrors).toEqual({
      password: [
        'This password is too short. It must contain at least 8 characters.',
        'This password is too common.',
        'This password is entirely numeric.',
      ],
    })
    const missing = await mutation(server.url, 'auth.tokens.register', {})
    expect(missing.body.error.data.fieldErrors).toEqual({
      username: ['This field is required.'],
      password: ['This field is required.'],
    })
    const extra = await mutation(server.url, 'auth.tokens.register', {
      username: 'x1',
      password: 'Tr1cky-passphrase',
      admin: true,
    })
    expect(extra.status).toBe(400)
    const users = await server.db
      .selectFrom('users')
      .select('username')
      .where('username', 'in', ['weakling', 'x1'])
      .execute()
    expect(users).toEqual([])
  })

  it("shares auth.register's `register` throttle scope", async () => {
    await using limited = await startTestServer({ THROTTLE_RATES: 'register=2/h' })
    const register = (path: string, username: string) =>
      mutation(limited.url, path, { username, password: 'Tr1cky-passphrase' })
    expect((await register('auth.register', 'first')).status).toBe(200)
    expect((await register('auth.tokens.register', 'second')).status).toBe(200)
    const third = await register('auth.tokens.register', 'third')
    expect(third.status).toBe(429)
    expect(third.body.error.data.reason).toBe('THROTTLED')
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/)
  })
})
