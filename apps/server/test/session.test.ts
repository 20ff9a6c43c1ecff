/**
 * Sessions over raw HTTP: DRF's SessionAuthentication with Django's cookies and CSRF failures,
 * sliding expiry on an injected clock, and the auth.session.* procedures.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { CookieClient, parseSetCookie, setCookieLines } from './helpers/cookies.js'
import { errorBody, login, mutation, query, wire } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now
const later = (seconds: number) => new Date(START.getTime() + seconds * 1000)
const AGE = 3600
const TRUSTED = 'https://app.example.com'
const CLEARED = 'sessionid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax'

describe(`${TEST_BACKEND}: sessions over HTTP`, () => {
  const server = sharedServer({ SESSION_COOKIE_AGE: '1h', CSRF_TRUSTED_ORIGINS: TRUSTED }, { clock })

  async function loggedIn(
    who?: { id: number; username: string; password: string },
    headers: Record<string, string> = {},
  ) {
    const user = who ?? (await server.createUser())
    const client = new CookieClient(server.url)
    const res = await client.mutation('auth.session.login', {
      input: { username: user.username, password: user.password },
      origin: null,
      headers,
    })
    expect(res.status).toBe(200)
    return { client, user, res }
  }

  const forbidden = (message: string, path: string) =>
    errorBody({ message, code: 'FORBIDDEN', httpStatus: 403, path, reason: 'CSRF_FAILED' })
  const sessionId = (client: CookieClient) => client.get('sessionid')?.split('.')[0]

  describe('auth.session.login', () => {
    it('answers {user} and sets sessionid and csrftoken with Django’s attributes', async () => {
      now = START
      const { client, user, res } = await loggedIn()
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
        forbidden(
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
      const { client, user } = await loggedIn()
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
      const { client, user } = await loggedIn(undefined, { 'user-agent': 'SessionTest/1.0' })
      const [item] = (await client.query('auth.session.list')).body.result.data.items
      expect(item).toEqual({
        id: sessionId(client),
        createdAt: START.toISOString(),
        lastUsedAt: START.toISOString(),
        expiresAt: later(AGE).toISOString(),
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
        detail: { id: sessionId(client) },
        address: '127.0.0.1',
        user_agent: 'SessionTest/1.0',
      })
    })
  })

  describe('authentication by the cookie', () => {
    it('lets a GET through without any CSRF header, and names the user', async () => {
      now = START
      const { client, user } = await loggedIn()
      const res = await client.query('auth.me')
      expect(res.status).toBe(200)
      expect(res.body.result.data.user.username).toBe(user.username)
      expect(setCookieLines(res)).toEqual([])
    })

    it('refuses a mutation without the token, with a wrong one, from another origin or with no origin', async () => {
      now = START
      const { client } = await loggedIn()
      const path = 'auth.tokens.create'
      const input = { name: 'csrf' }
      const cases: [Parameters<CookieClient['mutation']>[1], string][] = [
        [{ input, csrf: null }, 'CSRF Failed: CSRF token missing.'],
        [{ input, csrf: 'f'.repeat(64) }, 'CSRF Failed: CSRF token incorrect.'],
        [
          { input, origin: 'https://evil.example' },
          'CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins.',
        ],
        [
          { input, origin: server.url.replace('127.0.0.1', 'localhost') },
          `CSRF Failed: Origin checking failed - ${server.url.replace('127.0.0.1', 'localhost')} does not match any trusted origins.`,
        ],
        [{ input, origin: null }, 'CSRF Failed: Origin checking failed - no Origin.'],
        [{ input, cookie: `sessionid=${client.get('sessionid')}` }, 'CSRF Failed: CSRF cookie not set.'],
      ]
      for (const [opts, message] of cases) {
        const res = await client.mutation(path, opts)
        expect(res.status, message).toBe(403)
        expect(res.body).toEqual(forbidden(message, path))
        expect(res.headers.get('www-authenticate')).toBeNull()
      }
      expect((await client.query('auth.tokens.list')).body.result.data.items).toEqual([])
      // Same origin, or a CSRF_TRUSTED_ORIGINS one, with the token: accepted.
      expect((await client.mutation(path, { input })).status).toBe(200)
      expect((await client.mutation(path, { input, origin: TRUSTED })).status).toBe(200)
    })

    it('hands out a csrftoken to a session that lost it, so the next mutation can pass', async () => {
      now = START
      const { client } = await loggedIn()
      client.jar.delete('csrftoken;/')
      const refused = await client.mutation('auth.session.revokeOthers')
      expect(refused.body.error.message).toBe('CSRF Failed: CSRF cookie not set.')
      expect(setCookieLines(refused)).toEqual([
        expect.stringMatching(/^csrftoken=[0-9a-f]{64}; Max-Age=31449600; Path=\/; SameSite=Lax$/),
      ])
      expect((await client.mutation('auth.session.revokeOthers')).status).toBe(200)
    })

    it('refuses the cross-site form post that the token exists for', async () => {
      now = START
      const { client, user } = await loggedIn()
      await loggedIn(user)
      const form = new FormData()
      form.set('anything', '1')
      // What a page elsewhere can make a browser send: a form, with the cookies, without headers.
      const res = await wire(`${server.url}/trpc/auth.session.revokeOthers`, {
        method: 'POST',
        body: form as unknown as string,
        headers: {
          cookie: client.cookieHeader('/trpc/auth.session.revokeOthers') ?? '',
          origin: 'https://evil.example',
        },
      })
      expect(res.status).toBe(403)
      expect(res.body.error.data.reason).toBe('CSRF_FAILED')
      expect((await client.query('auth.session.list')).body.result.data.items).toHaveLength(2)
    })

    it('answers a dead cookie with 401 SESSION_INVALID and clears it; never anonymous', async () => {
      now = START
      const { client } = await loggedIn()
      const key = client.get('sessionid') ?? ''
      const [id] = key.split('.')
      for (const cookie of [
        'sessionid=forged',
        `sessionid=${id}.${'0'.repeat(64)}`,
        `sessionid=${'0'.repeat(32)}.${'0'.repeat(64)}`,
      ]) {
        const res = await query(server.url, 'content.protected', { headers: { cookie } })
        expect(res.status).toBe(401)
        expect(res.body).toEqual(
          errorBody({
            message: 'Session is invalid or expired',
            code: 'UNAUTHORIZED',
            httpStatus: 401,
            path: 'content.protected',
            reason: 'SESSION_INVALID',
          }),
        )
        expect(res.headers.get('www-authenticate')).toBe('Session realm="api"')
        expect(setCookieLines(res)).toEqual([CLEARED])
      }
      // A public procedure still answers, and the dead cookie is cleared there too.
      const open = await query(server.url, 'auth.catalogue', { headers: { cookie: 'sessionid=forged' } })
      expect(open.status).toBe(200)
      expect(setCookieLines(open)).toEqual([CLEARED])
    })

    it('expires a session unused for SESSION_COOKIE_AGE', async () => {
      now = START
      const { client } = await loggedIn()
      now = later(AGE - 1)
      expect((await client.query('auth.me')).status).toBe(200)
      now = later(AGE * 2)
      const res = await client.query('auth.me')
      expect(res.status).toBe(401)
      expect(res.body.error.data.reason).toBe('SESSION_INVALID')
      expect(setCookieLines(res)).toEqual([CLEARED])
      expect(client.get('sessionid')).toBeUndefined()
      // With the cookie gone the client is simply anonymous.
      expect((await client.query('auth.me')).body.error.data.reason).toBe('NOT_AUTHENTICATED')
    })

    it('slides the expiry on use, writing and re-sending the cookie at most once a minute', async () => {
      now = START
      const { client } = await loggedIn()
      const item = async () => (await client.query('auth.session.list')).body.result.data.items[0]

      now = later(30)
      const quiet = await client.query('auth.me')
      expect(setCookieLines(quiet)).toEqual([])
      expect(await item()).toMatchObject({ lastUsedAt: START.toISOString(), expiresAt: later(AGE).toISOString() })

      now = later(61)
      const slid = await client.query('auth.me')
      expect(setCookieLines(slid)).toEqual([
        `sessionid=${client.get('sessionid')}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`,
      ])
      expect(await item()).toMatchObject({
        lastUsedAt: later(61).toISOString(),
        expiresAt: later(61 + AGE).toISOString(),
      })

      now = later(100)
      for (let i = 0; i < 3; i++) expect(setCookieLines(await client.query('auth.me'))).toEqual([])
      expect(await item()).toMatchObject({ lastUsedAt: later(61).toISOString() })

      // Past the first expiry because it was used.
      now = later(AGE + 30)
      expect((await client.query('auth.me')).status).toBe(200)
    })

    it('refuses an inactive user’s session with USER_INACTIVE and keeps the cookie', async () => {
      now = START
      const { client, user } = await loggedIn()
      await server.db.updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute()
      await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const res = await client.query('auth.me')
      expect(res.status).toBe(401)
      expect(res.body.error).toMatchObject({ message: 'User is inactive', data: { reason: 'USER_INACTIVE' } })
      expect(res.headers.get('www-authenticate')).toBe('Session realm="api"')
      expect(setCookieLines(res)).toEqual([])
    })

    it('sends several cookies on a batched call', async () => {
      now = START
      const user = await server.createUser()
      const body = JSON.stringify({ 0: { username: user.username, password: user.password }, 1: { name: 'x' } })
      const res = await wire(`${server.url}/trpc/auth.session.login,auth.tokens.create?batch=1`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      })
      expect(res.body[0].result.data.user.username).toBe(user.username)
      expect(res.body[1].error.data.reason).toBe('NOT_AUTHENTICATED')
      expect(setCookieLines(res).map((line) => parseSetCookie(line).name)).toEqual(['sessionid', 'csrftoken'])
    })
  })

  describe('list, revoke, revokeOthers, logout', () => {
    it('lists the caller’s live sessions, marking the current one', async () => {
      now = START
      const { client: first, user } = await loggedIn()
      const { client: second } = await loggedIn(user)
      await loggedIn() // someone else's
      const items = (await first.query('auth.session.list')).body.result.data.items as {
        id: string
        current: boolean
      }[]
      expect(items).toHaveLength(2)
      expect(items.find((i) => i.current)?.id).toBe(sessionId(first))
      expect(items.find((i) => !i.current)?.id).toBe(sessionId(second))
      // A Bearer caller sees the same sessions, none of them current.
      const { access } = await login(server.url, user)
      const viaBearer = (await query(server.url, 'auth.session.list', { token: access })).body.result.data.items as {
        current: boolean
      }[]
      expect(viaBearer.map((i) => i.current)).toEqual([false, false])
      expect((await query(server.url, 'auth.session.list')).status).toBe(401)
    })

    it('revokes one of the caller’s sessions; someone else’s id or a missing one is 404', async () => {
      now = START
      const { client: first, user } = await loggedIn()
      const { client: second } = await loggedIn(user)
      const { client: stranger } = await loggedIn()
      for (const id of [sessionId(stranger), 'f'.repeat(32)]) {
        const res = await first.mutation('auth.session.revoke', { input: { id } })
        expect(res.status).toBe(404)
        expect(res.body).toEqual(
          errorBody({
            message: 'Not found.',
            code: 'NOT_FOUND',
            httpStatus: 404,
            path: 'auth.session.revoke',
            reason: 'NOT_FOUND',
          }),
        )
      }
      expect((await stranger.query('auth.me')).status).toBe(200)
      const res = await first.mutation('auth.session.revoke', { input: { id: sessionId(second) } })
      expect(res.status).toBe(200)
      expect(res.body.result.data).toEqual({ detail: 'Session revoked.' })
      expect(setCookieLines(res)).toEqual([])
      expect((await second.query('auth.me')).body.error.data.reason).toBe('SESSION_INVALID')
      // Revoking the session in use also clears its cookie.
      const own = await first.mutation('auth.session.revoke', { input: { id: sessionId(first) } })
      expect(setCookieLines(own)).toEqual([CLEARED])
      expect(first.get('sessionid')).toBeUndefined()
    })

    it('revokes all the caller’s other sessions and keeps the current one', async () => {
      now = START
      const { client: first, user } = await loggedIn()
      const others = [await loggedIn(user), await loggedIn(user)]
      const { client: stranger } = await loggedIn()
      const res = await first.mutation('auth.session.revokeOthers')
      expect(res.body.result.data).toEqual({ detail: 'Sessions revoked.', revoked: 2 })
      for (const other of others) expect((await other.client.query('auth.me')).status).toBe(401)
      expect((await first.query('auth.me')).status).toBe(200)
      expect((await stranger.query('auth.me')).status).toBe(200)
      const events = await server.db
        .selectFrom('audit_events')
        .select(['event', 'detail'])
        .where('user_id', '=', user.id)
        .where('event', '=', 'session.revoked')
        .execute()
      expect(events).toEqual([{ event: 'session.revoked', detail: { ids: expect.any(Array), via: 'revoke_others' } }])
    })

    it('logs out: ends the session, clears the cookie, and a replay is refused', async () => {
      now = START
      const { client, user } = await loggedIn()
      const key = client.get('sessionid')
      const res = await client.mutation('auth.session.logout')
      expect(res.status).toBe(200)
      expect(res.body.result.data).toEqual({ detail: 'Successfully logged out.' })
      expect(setCookieLines(res)).toEqual([CLEARED])
      const replay = await query(server.url, 'auth.me', { headers: { cookie: `sessionid=${key}` } })
      expect(replay.body.error.data.reason).toBe('SESSION_INVALID')
      const revoked = await server.db
        .selectFrom('audit_events')
        .select('detail')
        .where('user_id', '=', user.id)
        .where('event', '=', 'session.revoked')
        .executeTakeFirst()
      expect(revoked?.detail).toEqual({ id: key?.split('.')[0], via: 'logout' })
    })

    it('clears the cookie even without a live session', async () => {
      const json = { 'content-type': 'application/json' }
      for (const headers of [json, { ...json, cookie: 'sessionid=forged' }]) {
        const res = await wire(`${server.url}/trpc/auth.session.logout`, { method: 'POST', headers })
        expect(res.status).toBe(200)
        expect(res.body.result.data).toEqual({ detail: 'Successfully logged out.' })
        expect(setCookieLines(res)).toEqual([CLEARED])
      }
    })

    it('keeps a live session when the logout fails CSRF (a forged logout changes nothing)', async () => {
      now = START
      const { client } = await loggedIn()
      const res = await client.mutation('auth.session.logout', { origin: 'https://evil.example' })
      expect(res.status).toBe(403)
      expect(setCookieLines(res)).toEqual([])
      expect((await client.query('auth.me')).status).toBe(200)
    })
  })

  describe('header credentials', () => {
    it('never need CSRF, even with a session cookie beside them', async () => {
      now = START
      const { client, user } = await loggedIn()
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
