/**
 * The REST facade's sign-in routes beyond the seed: simplejwt's and DRF's stock token views, the
 * caller (me/, logout-all/), API tokens and sessions, in DRF's style (snake_case, 201/204); plus
 * the outage, bug and AUTH_SCHEMES cases of the facade itself.
 */
import type { Authenticator } from '@gatehouse/auth'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { startApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { bearer, BEARER, DRF_KEY, restClient } from './helpers/rest.js'
import { downDatabaseServer, sharedServer } from './helpers/server.js'

const KEY = /^[0-9a-f]{24}\.[0-9a-f]{64}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
})

describe(`${TEST_BACKEND}: REST facade, Gatehouse's sign-in routes`, () => {
  const server = sharedServer()
  const { api, accessOf } = restClient(() => server.url)
  let alice: { id: number; username: string; password: string }

  beforeAll(async () => {
    alice = await server.createUser()
  })

  describe('simplejwt’s and DRF’s stock views', () => {
    it('token/: {refresh, access} in simplejwt’s order, its 401 and field errors', async () => {
      const ok = await api('POST', '/api/token/', { json: { username: alice.username, password: alice.password } })
      expect(ok.status).toBe(200)
      expect(Object.keys(ok.json)).toEqual(['refresh', 'access'])
      expect(ok.headers.getSetCookie()).toEqual([])
      const wrong = await api('POST', '/api/token/', { json: { username: alice.username, password: 'nope' } })
      expect([wrong.status, wrong.text, wrong.headers.get('www-authenticate')]).toEqual([
        401,
        '{"detail":"No active account found with the given credentials"}',
        BEARER,
      ])
      const empty = await api('POST', '/api/token/', { json: {} })
      expect([empty.status, empty.text]).toEqual([
        400,
        '{"username":["This field is required."],"password":["This field is required."]}',
      ])
    })

    it('token/blacklist/: answers {} and the refresh token is dead', async () => {
      const { refresh } = (
        await api('POST', '/api/token/', { json: { username: alice.username, password: alice.password } })
      ).json
      const res = await api('POST', '/api/token/blacklist/', { json: { refresh } })
      expect([res.status, res.text]).toEqual([200, '{}'])
      const reuse = await api('POST', '/api/token/refresh/', { json: { refresh } })
      expect([reuse.status, reuse.text]).toEqual([401, '{"detail":"Token is blacklisted","code":"token_not_valid"}'])
    })

    it('token/sliding/: obtain, authenticate, refresh, blacklist', async () => {
      const obtained = await api('POST', '/api/token/sliding/', {
        json: { username: alice.username, password: alice.password },
      })
      expect(obtained.status).toBe(200)
      expect(Object.keys(obtained.json)).toEqual(['token'])
      expect((await api('GET', '/api/me/', { headers: bearer(obtained.json.token) })).status).toBe(200)
      const refreshed = await api('POST', '/api/token/sliding/refresh/', { json: { token: obtained.json.token } })
      expect(refreshed.status).toBe(200)
      const ended = await api('POST', '/api/token/sliding/blacklist/', { json: { token: refreshed.json.token } })
      expect([ended.status, ended.text]).toEqual([200, '{}'])
      const again = await api('POST', '/api/token/sliding/refresh/', { json: { token: refreshed.json.token } })
      expect([again.status, again.text, again.headers.get('www-authenticate')]).toEqual([
        401,
        '{"detail":"Token is blacklisted","code":"token_not_valid"}',
        BEARER,
      ])
    })

    it('api-token-auth/: DRF’s obtain_auth_token, with its 400 for bad credentials', async () => {
      const ok = await api('POST', '/api/api-token-auth/', form({ username: alice.username, password: alice.password }))
      expect(ok.status).toBe(200)
      expect(ok.json.token).toMatch(DRF_KEY)
      const me = await api('GET', '/api/me/', { headers: { authorization: `Token ${ok.json.token}` } })
      expect(me.json.user.username).toBe(alice.username)
      const wrong = await api('POST', '/api/api-token-auth/', { json: { username: alice.username, password: 'nope' } })
      expect([wrong.status, wrong.text]).toEqual([
        400,
        '{"non_field_errors":["Unable to log in with provided credentials."]}',
      ])
    })
  })

  describe('the caller', () => {
    it('me/: the user and grants in snake_case, by any scheme of AUTH_SCHEMES', async () => {
      const res = await api('GET', '/api/me/', { headers: bearer(await accessOf(alice)) })
      expect(res.status).toBe(200)
      expect(res.headers.get('vary')).toBe('Accept, Cookie') // session and cookie schemes read cookies
      expect(res.json).toEqual({
        user: {
          id: alice.id,
          username: alice.username,
          email: '',
          is_staff: false,
          is_superuser: false,
          groups: [],
          date_joined: expect.stringMatching(ISO),
        },
        permissions: [],
        object_permissions: {},
      })
    })

    it('logout-all/: ends every login; the old access token is then revoked', async () => {
      const user = await server.createUser()
      const access = await accessOf(user)
      const res = await api('POST', '/api/logout-all/', { headers: bearer(access) })
      expect([res.status, res.text]).toEqual([200, '{"detail":"Logged out everywhere."}'])
      const after = await api('GET', '/api/me/', { headers: bearer(access) })
      expect([after.status, after.json.messages?.[0]?.message]).toEqual([401, 'Token has been revoked'])
      const anonymous = await api('POST', '/api/logout-all/')
      expect([anonymous.status, anonymous.headers.get('www-authenticate')]).toEqual([401, BEARER])
    })
  })

  describe('API tokens', () => {
    it('creates (201), lists, revokes one (204) and all; errors name the request’s fields', async () => {
      const user = await server.createUser()
      const auth = bearer(await accessOf(user))
      const created = await api('POST', '/api/tokens/', { json: { name: 'ci' }, headers: auth })
      expect(created.status).toBe(201)
      expect(created.json).toEqual({
        key: expect.stringMatching(KEY),
        token: {
          id: expect.any(String),
          name: 'ci',
          created_at: expect.stringMatching(ISO),
          expires_at: null,
          last_used_at: null,
        },
      })
      const past = await api('POST', '/api/tokens/', {
        json: { name: 'old', expires_at: '2001-01-01T00:00:00Z' },
        headers: auth,
      })
      expect([past.status, past.text]).toEqual([400, '{"expires_at":["Ensure this date is in the future."]}'])
      const list = await api('GET', '/api/tokens/', { headers: auth })
      expect(list.json.map((t: { name: string }) => t.name)).toEqual(['ci'])
      const id = created.json.token.id as string
      const revoked = await api('DELETE', `/api/tokens/${id}/`, { headers: auth })
      expect([revoked.status, revoked.text, revoked.headers.get('content-type')]).toEqual([204, '', null])
      const gone = await api('DELETE', `/api/tokens/${id}/`, { headers: auth })
      expect([gone.status, gone.text]).toEqual([404, '{"detail":"Not found."}'])
      await api('POST', '/api/tokens/', { json: { name: 'a' }, headers: auth })
      const all = await api('POST', '/api/tokens/revoke-all/', { headers: auth })
      expect([all.status, all.text]).toEqual([200, '{"detail":"Tokens revoked.","revoked":1}'])
    })
  })

  describe('sessions', () => {
    it('logs in with a form, lists and revokes sessions by cookie with CSRF, logs out', async () => {
      const user = await server.createUser()
      // A stale cookie does not stand in the way of a new login (Django ignores a bad session too).
      const login = await api('POST', '/api/session/login/', {
        ...form({ username: user.username, password: user.password }),
        headers: { ...form({}).headers, cookie: `sessionid=${'0'.repeat(32)}.${'1'.repeat(64)}` },
      })
      expect(login.status).toBe(200)
      expect(login.json.user).toMatchObject({ username: user.username, is_staff: false })
      const jar = Object.fromEntries(login.headers.getSetCookie().map((line) => line.split(';', 1)[0]!.split('=')))
      const cookie = `sessionid=${jar.sessionid}; csrftoken=${jar.csrftoken}`
      const list = await api('GET', '/api/sessions/', { headers: { cookie } })
      expect(list.status).toBe(200)
      expect(list.json).toEqual([expect.objectContaining({ current: true, user_agent: expect.any(String) })])
      const forged = await api('POST', '/api/sessions/revoke-others/', { headers: { cookie, origin: server.url } })
      expect([forged.status, forged.text]).toEqual([403, '{"detail":"CSRF Failed: CSRF token missing."}'])
      const csrf = { cookie, origin: server.url, 'x-csrftoken': jar.csrftoken as string }
      const others = await api('POST', '/api/sessions/revoke-others/', { headers: csrf })
      expect([others.status, others.text]).toEqual([200, '{"detail":"Sessions revoked.","revoked":0}'])
      const logout = await api('POST', '/api/session/logout/', { headers: csrf })
      expect([logout.status, logout.text]).toEqual([200, '{"detail":"Successfully logged out."}'])
      expect(logout.headers.getSetCookie()[0]).toMatch(/^sessionid=; Max-Age=0;/)
      const after = await api('GET', '/api/sessions/', { headers: { cookie } })
      expect([after.status, after.headers.get('www-authenticate')]).toEqual([401, 'Session realm="api"'])
    })

    it('revokes one session by id (204)', async () => {
      const user = await server.createUser()
      const login = await api('POST', '/api/session/login/', {
        json: { username: user.username, password: user.password },
      })
      const id = (await api('GET', '/api/sessions/', { headers: bearer(await accessOf(user)) })).json[0].id as string
      const res = await api('DELETE', `/api/sessions/${id}/`, { headers: bearer(await accessOf(user)) })
      expect(res.status).toBe(204)
      expect(login.status).toBe(200)
      expect((await api('GET', '/api/sessions/', { headers: bearer(await accessOf(user)) })).json).toEqual([])
    })
  })
})

describe(`${TEST_BACKEND}: REST facade, outages, bugs and AUTH_SCHEMES`, () => {
  /** Each test's own server. */
  let base: string
  const { api } = restClient(() => base)

  it('answers 503 when the database is down, in DRF’s shape', async () => {
    await using down = await downDatabaseServer()
    base = down.url
    const res = await api('POST', '/api/login/', { json: { username: 'a', password: 'b' } })
    expect([res.status, res.text]).toEqual([503, '{"detail":"The database is unavailable; try again later."}'])
    expect(down.errors).toEqual([])
  })

  it('answers a bug with DRF’s 500 body and reports it; a seed view whose scheme is off still names it', async () => {
    await using testDb = await createTestDb()
    const boom = (): Authenticator => ({
      scheme: 'boom',
      hasCredential: (request) => request.headers['x-boom'] !== undefined,
      authenticate: (request) =>
        request.headers['x-boom'] === undefined ? Promise.resolve(null) : Promise.reject(new TypeError('kaboom')),
    })
    const errors: unknown[] = []
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', PASSWORD_HASH_COST: '4', AUTH_SCHEMES: 'bearer,boom' })
    await using app = await startApp({ config, db: testDb.db, authenticators: [boom], onError: (e) => errors.push(e) })
    base = app.url
    const res = await api('GET', '/api/me/', { headers: { 'x-boom': '1' } })
    expect([res.status, res.text]).toEqual([500, '{"detail":"A server error occurred."}'])
    expect(errors).toEqual([expect.objectContaining({ message: 'kaboom' })])
    const off = await api('GET', '/api/token-auth/protected/', { headers: { authorization: 'Token abc' } })
    expect([off.status, off.headers.get('www-authenticate')]).toEqual([401, 'Token'])
  })
})
