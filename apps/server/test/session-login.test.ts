/**
 * Signing in to a session over raw HTTP (DRF's SessionAuthentication, Django's cookies):
 * auth.session.login's answer, cookies, login CSRF and audit; header credentials beside a session
 * cookie; and the throttle counting a cookie caller as its user.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { CookieClient, parseSetCookie, setCookieLines } from './helpers/cookies.js'
import { errorBody, login, mutation, query } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'
import { csrfRefused, SESSION_AGE, sessionIdOf, sessionLogin, sessionServer, TRUSTED } from './helpers/session.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now
const later = (seconds: number) => new Date(START.getTime() + seconds * 1000)

describe(`${TEST_BACKEND}: sessions over HTTP: signing in`, () => {
  const server = sessionServer(clock)

  describe('auth.session.login', () => {
    it('answers {user} and sets sessionid and csrftoken with Django’s attributes', async () => {
      now = START
      const { client, user, res } = await sessionLogin(server)
      expect(res.body.result.data).toEqual({
        user: {
          id: user.id,
          username: user.username,
          email: '',
          isStaff: false,
          isSuperuser: false,
          groups: [],
          dateJoined: expect.any(String),
        },
      })
      const lines = setCookieLines(res)
      expect(lines).toHaveLength(2)
      expect(lines[0]).toMatch(/^sessionid=[0-9a-f]{32}\.[0-9a-f]{64}; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/)
      expect(lines[1]).toMatch(/^csrftoken=[0-9a-f]{64}; Max-Age=31449600; Path=\/; SameSite=Lax$/)
      expect(client.get('sessionid')).toBe(parseSetCookie(lines[0] ?? '').value)
    })

    it('refuses bad credentials with login’s answer and sets no cookie', async () => {
      const user = await server.createUser()
      const res = await mutation(server.url, 'auth.session.login', { username: user.username, password: 'wrong' })
      expect(res.status).toBe(401)
      expect(res.body).toEqual(
        errorBody({
          message: 'Invalid credentials',
          code: 'UNAUTHORIZED',
          httpStatus: 401,
          path: 'auth.session.login',
          reason: 'INVALID_CREDENTIALS',
        }),
      )
      expect(res.headers.get('www-authenticate')).toBeNull()
      expect(setCookieLines(res)).toEqual([])
    })

    it('refuses a browser on an untrusted origin (login CSRF) and accepts a trusted one', async () => {
      const user = await server.createUser()
      const client = new CookieClient(server.url)
      const input = { username: user.username, password: user.password }
      const foreign = await client.mutation('auth.session.login', { input, origin: 'https://evil.example' })
      expect(foreign.status).toBe(403)
      expect(foreign.body).toEqual(
        csrfRefused(
          'CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins.',
          'auth.session.login',
        ),
      )
      expect(setCookieLines(foreign)).toEqual([])
      expect((await client.mutation('auth.session.login', { input, origin: TRUSTED })).status).toBe(200)
      expect((await client.mutation('auth.session.login', { input })).status).toBe(200)
    })

    it('rotates csrftoken and replaces the session it was sent with', async () => {
      now = START
      const { client, user } = await sessionLogin(server)
      const [firstKey, firstCsrf] = [client.get('sessionid'), client.get('csrftoken')]
      await client.mutation('auth.session.login', { input: { username: user.username, password: user.password } })
      expect(client.get('sessionid')).not.toBe(firstKey)
      expect(client.get('csrftoken')).not.toBe(firstCsrf)
      const replayed = await query(server.url, 'auth.me', { headers: { cookie: `sessionid=${firstKey}` } })
      expect(replayed.status).toBe(401)
      expect((await client.query('auth.session.list')).body.result.data.items).toHaveLength(1)
    })

    it('stores the address and user agent, and writes session.created to the audit log', async () => {
      now = START
      const { client, user } = await sessionLogin(server, undefined, { 'user-agent': 'SessionTest/1.0' })
      const [item] = (await client.query('auth.session.list')).body.result.data.items
      expect(item).toEqual({
        id: sessionIdOf(client),
        createdAt: START.toISOString(),
        lastUsedAt: START.toISOString(),
        expiresAt: later(SESSION_AGE).toISOString(),
        address: '127.0.0.1',
        userAgent: 'SessionTest/1.0',
        current: true,
      })
      const events = await server.db
        .selectFrom('audit_events')
        .select(['event', 'detail', 'address', 'user_agent'])
        .where('user_id', '=', user.id)
        .orderBy('id')
        .execute()
      expect(events.map((e) => e.event)).toEqual(['login.succeeded', 'session.created'])
      expect(events[0]?.detail).toMatchObject({ via: 'session' })
      expect(events[1]).toMatchObject({
        detail: { id: sessionIdOf(client) },
        address: '127.0.0.1',
        user_agent: 'SessionTest/1.0',
      })
    })
  })

  describe('header credentials', () => {
    it('never need CSRF, even with a session cookie beside them', async () => {
      now = START
      const { client, user } = await sessionLogin(server)
      const { access } = await login(server.url, user)
      const bare = await mutation(server.url, 'auth.tokens.create', { name: 'bearer' }, access)
      expect(bare.status).toBe(200)
      const key = bare.body.result.data.key as string
      const beside = await client.mutation('auth.tokens.create', {
        input: { name: 'both' },
        origin: 'https://evil.example',
        csrf: null,
        headers: { authorization: `Bearer ${access}` },
      })
      expect(beside.status).toBe(200)
      const viaKey = await client.mutation('auth.tokens.create', {
        input: { name: 'key' },
        origin: null,
        csrf: null,
        headers: { authorization: `Token ${key}` },
      })
      expect(viaKey.status).toBe(200)
    })
  })
})

describe(`${TEST_BACKEND}: throttling a session caller`, () => {
  const server = sharedServer({ THROTTLE_USER: '3/min', THROTTLE_ANON: '100/min' })

  it('counts a cookie caller as its user, not as its address', async () => {
    const user = await server.createUser()
    const client = new CookieClient(server.url)
    await client.mutation('auth.session.login', { input: { username: user.username, password: user.password } })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await client.query('auth.me')).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    // The same address without the cookie is a different (anonymous) caller.
    expect((await query(server.url, 'auth.catalogue')).status).toBe(200)
    const keys = await server.db.selectFrom('throttle_counters').select('key').execute()
    expect(keys.map((k) => k.key)).toContain(`user:${user.id}`)
  })
})
