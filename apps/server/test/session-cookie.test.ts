/**
 * Authentication by the session cookie over raw HTTP: Django's CSRF failures, a dead or expired
 * cookie, sliding expiry on an injected clock, an inactive user, batched calls.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import type { CookieClient } from './helpers/cookies.js'
import { parseSetCookie, setCookieLines } from './helpers/cookies.js'
import { errorBody, query, wire } from './helpers/http.js'
import { csrfRefused, SESSION_AGE, SESSION_CLEARED, sessionLogin, sessionServer, TRUSTED } from './helpers/session.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now
const later = (seconds: number) => new Date(START.getTime() + seconds * 1000)

describe(`${TEST_BACKEND}: sessions over HTTP: the cookie`, () => {
  const server = sessionServer(clock)

  describe('authentication by the cookie', () => {
    it('lets a GET through without any CSRF header, and names the user', async () => {
      now = START
      const { client, user } = await sessionLogin(server)
      const res = await client.query('auth.me')
      expect(res.status).toBe(200)
      expect(res.body.result.data.user.username).toBe(user.username)
      expect(setCookieLines(res)).toEqual([])
    })

    it('refuses a mutation without the token, with a wrong one, from another origin or with no origin', async () => {
      now = START
      const { client } = await sessionLogin(server)
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
        expect(res.body).toEqual(csrfRefused(message, path))
        expect(res.headers.get('www-authenticate')).toBeNull()
      }
      expect((await client.query('auth.tokens.list')).body.result.data.items).toEqual([])
      // Same origin, or a CSRF_TRUSTED_ORIGINS one, with the token: accepted.
      expect((await client.mutation(path, { input })).status).toBe(200)
      expect((await client.mutation(path, { input, origin: TRUSTED })).status).toBe(200)
    })

    it('hands out a csrftoken to a session that lost it, so the next mutation can pass', async () => {
      now = START
      const { client } = await sessionLogin(server)
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
      const { client, user } = await sessionLogin(server)
      await sessionLogin(server, user)
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
      const { client } = await sessionLogin(server)
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
        expect(setCookieLines(res)).toEqual([SESSION_CLEARED])
      }
      // A public procedure still answers, and the dead cookie is cleared there too.
      const open = await query(server.url, 'auth.catalogue', { headers: { cookie: 'sessionid=forged' } })
      expect(open.status).toBe(200)
      expect(setCookieLines(open)).toEqual([SESSION_CLEARED])
    })

    it('expires a session unused for SESSION_COOKIE_AGE', async () => {
      now = START
      const { client } = await sessionLogin(server)
      now = later(SESSION_AGE - 1)
      expect((await client.query('auth.me')).status).toBe(200)
      now = later(SESSION_AGE * 2)
      const res = await client.query('auth.me')
      expect(res.status).toBe(401)
      expect(res.body.error.data.reason).toBe('SESSION_INVALID')
      expect(setCookieLines(res)).toEqual([SESSION_CLEARED])
      expect(client.get('sessionid')).toBeUndefined()
      // With the cookie gone the client is simply anonymous.
      expect((await client.query('auth.me')).body.error.data.reason).toBe('NOT_AUTHENTICATED')
    })

    it('slides the expiry on use, writing and re-sending the cookie at most once a minute', async () => {
      now = START
      const { client } = await sessionLogin(server)
      const item = async () => (await client.query('auth.session.list')).body.result.data.items[0]

      now = later(30)
      const quiet = await client.query('auth.me')
      expect(setCookieLines(quiet)).toEqual([])
      expect(await item()).toMatchObject({
        lastUsedAt: START.toISOString(),
        expiresAt: later(SESSION_AGE).toISOString(),
      })

      now = later(61)
      const slid = await client.query('auth.me')
      expect(setCookieLines(slid)).toEqual([
        `sessionid=${client.get('sessionid')}; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax`,
      ])
      expect(await item()).toMatchObject({
        lastUsedAt: later(61).toISOString(),
        expiresAt: later(61 + SESSION_AGE).toISOString(),
      })

      now = later(100)
      for (let i = 0; i < 3; i++) expect(setCookieLines(await client.query('auth.me'))).toEqual([])
      expect(await item()).toMatchObject({ lastUsedAt: later(61).toISOString() })

      // Past the first expiry because it was used.
      now = later(SESSION_AGE + 30)
      expect((await client.query('auth.me')).status).toBe(200)
    })

    it('refuses an inactive user’s session with USER_INACTIVE and keeps the cookie', async () => {
      now = START
      const { client, user } = await sessionLogin(server)
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
})
