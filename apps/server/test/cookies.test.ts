/**
 * JWTs in httpOnly cookies (the seed's code-2 login, opt-in) over raw HTTP, the cookie plumbing
 * itself, and COOKIE_SECURE.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { CookieJar, parseCookieHeader, serializeCookie } from '../src/kit/cookies.js'
import { CookieClient, parseSetCookie, setCookieLines } from './helpers/cookies.js'
import { errorBody, mutation, query, wire } from './helpers/http.js'
import { serverPerTest, sharedServer } from './helpers/server.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now
const later = (seconds: number) => new Date(START.getTime() + seconds * 1000)
const EPOCH = 'Expires=Thu, 01 Jan 1970 00:00:00 GMT'
const CLEARED = [
  `access=; Max-Age=0; ${EPOCH}; Path=/; HttpOnly; SameSite=Lax`,
  `refresh=; Max-Age=0; ${EPOCH}; Path=/trpc/auth.refresh; HttpOnly; SameSite=Lax`,
  `refresh=; Max-Age=0; ${EPOCH}; Path=/trpc/auth.logout; HttpOnly; SameSite=Lax`,
]

describe('cookie plumbing', () => {
  it('parses a Cookie header: first of a name wins, quotes dropped, no prototype surprises', () => {
    const parsed = parseCookieHeader(' a=1; b="two" ;a=3; junk; =x; __proto__=p; c=x=y; e=')
    expect(Object.entries(parsed)).toEqual([
      ['a', '1'],
      ['b', 'two'],
      ['__proto__', 'p'],
      ['c', 'x=y'],
      ['e', ''],
    ])
    expect(Object.getPrototypeOf(parsed)).toBeNull()
  })

  it('serialises with Max-Age, Path, HttpOnly, SameSite and Secure, and a deletion as Django does', () => {
    const cookie = { name: 'n', value: 'v', maxAge: 60, path: '/p', httpOnly: true, sameSite: 'Strict' as const }
    expect(serializeCookie(cookie, false)).toBe('n=v; Max-Age=60; Path=/p; HttpOnly; SameSite=Strict')
    expect(serializeCookie({ name: 'n', value: 'v', maxAge: 1 }, true)).toBe(
      'n=v; Max-Age=1; Path=/; SameSite=Lax; Secure',
    )
    expect(serializeCookie({ name: 'n', value: '', maxAge: 0 }, false)).toBe(
      `n=; Max-Age=0; ${EPOCH}; Path=/; SameSite=Lax`,
    )
  })

  it('keeps the last write per name and path, in the order of the last writes', () => {
    const jar = new CookieJar({ secure: false })
    jar.setCookie({ name: 'a', value: '1', maxAge: 1 })
    jar.setCookie({ name: 'b', value: '2', maxAge: 1 })
    jar.setCookie({ name: 'b', value: '3', maxAge: 1, path: '/x' })
    jar.setCookie({ name: 'a', value: '', maxAge: 0 })
    expect(jar.headers().map((h) => h.split(';')[0])).toEqual(['b=2', 'b=3', 'a='])
  })
})

describe(`${TEST_BACKEND}: JWT cookies over HTTP`, () => {
  const server = sharedServer({}, { clock })

  async function cookieLogin() {
    const user = await server.createUser()
    const client = new CookieClient(server.url)
    const res = await client.mutation('auth.login', {
      input: { username: user.username, password: user.password, cookies: true },
      origin: null,
    })
    expect(res.status).toBe(200)
    return { client, user, res }
  }

  it('leaves a body-only login exactly as it was: no cookies', async () => {
    const user = await server.createUser()
    const res = await mutation(server.url, 'auth.login', { username: user.username, password: user.password })
    expect(setCookieLines(res)).toEqual([])
    expect(Object.keys(res.body.result.data).sort()).toEqual(['access', 'refresh', 'user'])
    const off = await mutation(server.url, 'auth.login', {
      username: user.username,
      password: user.password,
      cookies: false,
    })
    expect(setCookieLines(off)).toEqual([])
  })

  it('sets access, refresh (on its two paths) and csrftoken with cookies: true; the body is unchanged', async () => {
    now = START
    const { res } = await cookieLogin()
    const { access, refresh } = res.body.result.data
    expect(Object.keys(res.body.result.data).sort()).toEqual(['access', 'refresh', 'user'])
    const lines = setCookieLines(res)
    expect(lines.slice(0, 3)).toEqual([
      `access=${access}; Max-Age=300; Path=/; HttpOnly; SameSite=Lax`,
      `refresh=${refresh}; Max-Age=604800; Path=/trpc/auth.refresh; HttpOnly; SameSite=Lax`,
      `refresh=${refresh}; Max-Age=604800; Path=/trpc/auth.logout; HttpOnly; SameSite=Lax`,
    ])
    expect(lines[3]).toMatch(/^csrftoken=[0-9a-f]{64}; Max-Age=31449600; Path=\/; SameSite=Lax$/)
    expect(lines).toHaveLength(4)
  })

  it('refuses a cookie login from an untrusted origin', async () => {
    const user = await server.createUser()
    const res = await wire(`${server.url}/trpc/auth.login`, {
      method: 'POST',
      body: JSON.stringify({ username: user.username, password: user.password, cookies: true }),
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
    })
    expect(res.status).toBe(403)
    expect(res.body.error.data.reason).toBe('CSRF_FAILED')
    expect(setCookieLines(res)).toEqual([])
  })

  it('authenticates queries by the access cookie, and mutations only with CSRF', async () => {
    now = START
    const { client, user } = await cookieLogin()
    const me = await client.query('auth.me')
    expect(me.status).toBe(200)
    expect(me.body.result.data.user.username).toBe(user.username)
    const forged = await client.mutation('auth.tokens.create', { input: { name: 'x' }, csrf: null })
    expect(forged.status).toBe(403)
    expect(forged.body).toEqual(
      errorBody({
        message: 'CSRF Failed: CSRF token missing.',
        code: 'FORBIDDEN',
        httpStatus: 403,
        path: 'auth.tokens.create',
        reason: 'CSRF_FAILED',
      }),
    )
    expect((await client.mutation('auth.tokens.create', { input: { name: 'x' } })).status).toBe(200)
  })

  it('lets an Authorization header win over the cookie', async () => {
    now = START
    const { client } = await cookieLogin()
    const other = await server.createUser()
    const { access } = (
      await mutation(server.url, 'auth.login', { username: other.username, password: other.password })
    ).body.result.data
    const res = await client.query('auth.me', { headers: { authorization: `Bearer ${access}` } })
    expect(res.body.result.data.user.username).toBe(other.username)
    // A bad header is the header's 401, whatever the cookie holds.
    const bad = await client.query('auth.me', { headers: { authorization: 'Bearer nope' } })
    expect(bad.status).toBe(401)
    expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="api"')
  })

  it('answers a bad or expired access cookie with 401 and the cookie challenge, never anonymous', async () => {
    now = START
    const { client } = await cookieLogin()
    const garbage = await query(server.url, 'content.protected', { headers: { cookie: 'access=garbage' } })
    expect(garbage.status).toBe(401)
    expect(garbage.body).toEqual(
      errorBody({
        message: 'Token is invalid or expired',
        code: 'UNAUTHORIZED',
        httpStatus: 401,
        path: 'content.protected',
        reason: 'TOKEN_INVALID',
      }),
    )
    expect(garbage.headers.get('www-authenticate')).toBe('Cookie realm="api"')
    now = later(301)
    const expired = await client.query('content.protected')
    expect(expired.status).toBe(401)
    expect(expired.body.error.data.reason).toBe('TOKEN_EXPIRED')
    expect(expired.headers.get('www-authenticate')).toBe('Cookie realm="api"')
  })

  it('refreshes through the refresh cookie, rotating both cookies; the old one cannot be replayed past the reuse window', async () => {
    now = START
    const { client } = await cookieLogin()
    const [oldAccess, oldRefresh, csrf] = [client.get('access'), client.get('refresh'), client.get('csrftoken')]
    now = later(301)
    const res = await client.mutation('auth.refresh', { input: {} })
    expect(res.status).toBe(200)
    const { access, refresh } = res.body.result.data
    expect(Object.keys(res.body.result.data).sort()).toEqual(['access', 'refresh'])
    expect(access).not.toBe(oldAccess)
    expect(refresh).not.toBe(oldRefresh)
    expect(setCookieLines(res)).toEqual([
      `access=${access}; Max-Age=300; Path=/; HttpOnly; SameSite=Lax`,
      `refresh=${refresh}; Max-Age=604800; Path=/trpc/auth.refresh; HttpOnly; SameSite=Lax`,
      `refresh=${refresh}; Max-Age=604800; Path=/trpc/auth.logout; HttpOnly; SameSite=Lax`,
    ])
    expect(client.get('csrftoken')).toBe(csrf) // not a login: the CSRF token stays
    expect((await client.query('content.protected')).status).toBe(200)

    now = later(301 + 11) // past REFRESH_REUSE_INTERVAL (10 s): reuse, not another tab
    const replay = await client.mutation('auth.refresh', {
      input: {},
      cookie: `refresh=${oldRefresh}; csrftoken=${csrf}`,
    })
    expect(replay.status).toBe(401)
    expect(replay.body.error).toMatchObject({ message: 'Token is blacklisted', data: { reason: 'TOKEN_BLACKLISTED' } })
    expect(setCookieLines(replay)).toEqual(CLEARED)
  })

  it('needs CSRF to refresh by cookie, and a token from somewhere to refresh at all', async () => {
    now = START
    const { client } = await cookieLogin()
    const forged = await client.mutation('auth.refresh', { input: {}, origin: 'https://evil.example' })
    expect(forged.status).toBe(403)
    expect(setCookieLines(forged)).toEqual([])
    const missing = await mutation(server.url, 'auth.refresh', {})
    expect(missing.status).toBe(400)
    expect(missing.body).toEqual(
      errorBody({
        message: 'refresh: This field is required.',
        code: 'BAD_REQUEST',
        httpStatus: 400,
        path: 'auth.refresh',
        reason: 'INVALID_INPUT',
        fieldErrors: { refresh: ['This field is required.'] },
      }),
    )
    // The refresh cookie travels only to its two procedures.
    expect(client.cookieHeader('/trpc/auth.me')).not.toContain('refresh=')
    expect(client.cookieHeader('/trpc/auth.refresh')).toContain('refresh=')
    expect(client.cookieHeader('/trpc/auth.refresh,auth.me')).not.toContain('refresh=')
    // A body token wins over the cookie, and such a refresh leaves the cookies alone.
    const body = (
      await mutation(server.url, 'auth.login', {
        username: (await server.createUser()).username,
        password: 'correct horse battery staple',
      })
    ).body.result.data
    const viaBody = await client.mutation('auth.refresh', { input: { refresh: body.refresh } })
    expect(viaBody.status).toBe(200)
    expect(setCookieLines(viaBody)).toEqual([])
  })

  it('hands a new csrftoken to a cookie refresh that lost its own, so the retry succeeds', async () => {
    now = START
    const { client } = await cookieLogin()
    client.jar.delete('csrftoken;/')
    const refused = client.absorb(await client.mutation('auth.refresh', { input: {} }))
    expect(refused.status).toBe(403)
    expect(refused.body.error).toMatchObject({
      message: 'CSRF Failed: CSRF cookie not set.',
      data: { reason: 'CSRF_FAILED' },
    })
    expect(setCookieLines(refused).map((line) => line.split('=')[0])).toEqual(['csrftoken'])
    expect(client.get('csrftoken')).toMatch(/^[0-9a-f]{64}$/)
    const retried = client.absorb(await client.mutation('auth.refresh', { input: {} }))
    expect(retried.status).toBe(200)
  })

  it('logs out through the cookie: blacklists the refresh token and clears both cookies', async () => {
    now = START
    const { client } = await cookieLogin()
    const refresh = client.get('refresh')
    const res = await client.mutation('auth.logout', { input: {} })
    expect(res.status).toBe(200)
    expect(res.body.result.data).toEqual({ detail: 'Successfully logged out.' })
    expect(setCookieLines(res)).toEqual(CLEARED)
    expect(client.get('access')).toBeUndefined()
    expect(client.get('refresh')).toBeUndefined()
    const after = await mutation(server.url, 'auth.refresh', { refresh })
    expect(after.body.error.data.reason).toBe('TOKEN_BLACKLISTED')
  })

  /** @see issue 16, item 13: logout answers 200 to every caller, as the seed's view does */
  it('clears a cookie client’s cookies on every logout; without a CSRF token it still blacklists', async () => {
    now = START
    const { client } = await cookieLogin()
    const refresh = client.get('refresh')
    const noCsrf = await client.mutation('auth.logout', { input: {}, csrf: null })
    expect([noCsrf.status, noCsrf.body.result.data]).toEqual([200, { detail: 'Successfully logged out.' }])
    expect(setCookieLines(noCsrf)).toEqual(CLEARED)
    expect((await mutation(server.url, 'auth.refresh', { refresh })).body.error.data.reason).toBe('TOKEN_BLACKLISTED')
    // A dead refresh token in the body: refused, and the cookies go anyway.
    const again = await cookieLogin()
    const dead = await again.client.mutation('auth.logout', { input: { refresh: 'garbage' } })
    expect(dead.status).toBe(401)
    expect(setCookieLines(dead)).toEqual(CLEARED)
  })

  it('attack: a logout from a foreign Origin clears cookies but does not blacklist the cookie’s token', async () => {
    now = START
    const { client } = await cookieLogin()
    const refresh = client.get('refresh')
    const forged = await client.mutation('auth.logout', { input: {}, csrf: null, origin: 'https://evil.example' })
    expect(forged.status).toBe(200)
    expect(setCookieLines(forged)).toEqual(CLEARED)
    expect((await mutation(server.url, 'auth.refresh', { refresh })).status).toBe(200)
  })

  it('answers 200 with nothing to end: no body token, no cookie', async () => {
    const res = await mutation(server.url, 'auth.logout', {})
    expect([res.status, res.body]).toEqual([200, { result: { data: { detail: 'Successfully logged out.' } } }])
    expect(setCookieLines(res)).toEqual([])
  })
})

describe(`${TEST_BACKEND}: COOKIE_SECURE`, () => {
  const { start } = serverPerTest()

  for (const [setting, secure] of [
    ['auto', false],
    ['true', true],
    ['false', false],
  ] as const) {
    it(`${setting}: ${secure ? 'marks' : 'does not mark'} cookies Secure on a plain-HTTP request`, async () => {
      const server = await start({ COOKIE_SECURE: setting })
      const user = await server.createUser()
      const client = new CookieClient(server.url)
      const input = { username: user.username, password: user.password }
      const lines = [
        ...setCookieLines(await client.mutation('auth.session.login', { input })),
        ...setCookieLines(await client.mutation('auth.login', { input: { ...input, cookies: true } })),
        ...setCookieLines(await client.mutation('auth.session.logout')),
      ]
      expect(lines).toHaveLength(7)
      for (const line of lines) expect(parseSetCookie(line).attributes['secure'] === true).toBe(secure)
    })
  }
})
