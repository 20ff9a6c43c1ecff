/**
 * The REST facade against ../shared/reference/drf-wire.md, section 5: the cookies code-2's login
 * sets, and refresh and logout reading them (CSRF, Postman, a foreign Origin, a dead cookie).
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { restClient } from './helpers/rest.js'
import { sharedServer } from './helpers/server.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now

describe(`${TEST_BACKEND}: REST facade, the seed's wire contract: cookies`, () => {
  const server = sharedServer({}, { clock })
  const { api } = restClient(() => server.url)
  let plain: { id: number; username: string; password: string }

  beforeAll(async () => {
    plain = await server.createUser()
  })

  describe('section 5: cookies', () => {
    it('login sets access (Path=/), refresh (on the two URLs that read it) and csrftoken; no sessionid', async () => {
      now = START
      const res = await api('POST', '/api/login/', { json: { username: plain.username, password: plain.password } })
      const { access, refresh } = res.json
      const lines = res.headers.getSetCookie()
      expect(lines.slice(0, 3)).toEqual([
        `access=${access}; Max-Age=300; Path=/; HttpOnly; SameSite=Lax`,
        `refresh=${refresh}; Max-Age=604800; Path=/api/token/refresh/; HttpOnly; SameSite=Lax`,
        `refresh=${refresh}; Max-Age=604800; Path=/api/logout/; HttpOnly; SameSite=Lax`,
      ])
      expect(lines[3]).toMatch(/^csrftoken=[0-9a-f]{64}; Max-Age=31449600; Path=\/; SameSite=Lax$/)
      expect(lines).toHaveLength(4)
    })

    it('refresh and logout read the refresh cookie with CSRF, and logout clears the cookies', async () => {
      const login = await api('POST', '/api/login/', { json: { username: plain.username, password: plain.password } })
      const csrf = /csrftoken=([0-9a-f]+)/.exec(login.headers.getSetCookie().join('\n'))?.[1] ?? ''
      const cookie = `refresh=${login.json.refresh}; csrftoken=${csrf}`
      const forged = await api('POST', '/api/token/refresh/', { headers: { cookie, origin: server.url } })
      expect([forged.status, forged.text]).toEqual([403, '{"detail":"CSRF Failed: CSRF token missing."}'])
      const csrfHeaders = { cookie, origin: server.url, 'x-csrftoken': csrf }
      const rotated = await api('POST', '/api/token/refresh/', { headers: csrfHeaders })
      expect(rotated.status).toBe(200)
      expect(rotated.headers.getSetCookie().map((line) => line.split('=', 1)[0])).toEqual([
        'access',
        'refresh',
        'refresh',
      ])
      const next = `refresh=${rotated.json.refresh}; csrftoken=${csrf}`
      const logout = await api('POST', '/api/logout/', { headers: { ...csrfHeaders, cookie: next } })
      expect([logout.status, logout.text]).toEqual([200, '{"detail":"Successfully logged out."}'])
      const epoch = 'Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
      expect(logout.headers.getSetCookie()).toEqual([
        `access=; ${epoch}; Path=/; HttpOnly; SameSite=Lax`,
        `refresh=; ${epoch}; Path=/api/token/refresh/; HttpOnly; SameSite=Lax`,
        `refresh=; ${epoch}; Path=/api/logout/; HttpOnly; SameSite=Lax`,
      ])
      const reuse = await api('POST', '/api/token/refresh/', { json: { refresh: rotated.json.refresh } })
      expect(reuse.status).toBe(401)
    })

    /** @see issue 16, item 13: Postman keeps the login's cookies and sends them without a CSRF header */
    it('Postman: logout with the login cookies and no CSRF header is 200, clears them and blacklists the token', async () => {
      const login = await api('POST', '/api/login/', { json: { username: plain.username, password: plain.password } })
      const csrf = /csrftoken=([0-9a-f]+)/.exec(login.headers.getSetCookie().join('\n'))?.[1] ?? ''
      const { access, refresh } = login.json
      const cookie = `access=${access}; refresh=${refresh}; csrftoken=${csrf}`
      const logout = await api('POST', '/api/logout/', { headers: { cookie } })
      expect([logout.status, logout.text]).toEqual([200, '{"detail":"Successfully logged out."}'])
      const epoch = 'Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
      expect(logout.headers.getSetCookie()).toEqual([
        `access=; ${epoch}; Path=/; HttpOnly; SameSite=Lax`,
        `refresh=; ${epoch}; Path=/api/token/refresh/; HttpOnly; SameSite=Lax`,
        `refresh=; ${epoch}; Path=/api/logout/; HttpOnly; SameSite=Lax`,
      ])
      const reuse = await api('POST', '/api/token/refresh/', { json: { refresh } })
      expect([reuse.status, reuse.text]).toEqual([401, '{"detail":"Token is blacklisted","code":"token_not_valid"}'])
    })

    it('attack: a logout from a foreign Origin clears the cookies it carries but blacklists nothing', async () => {
      const login = await api('POST', '/api/login/', { json: { username: plain.username, password: plain.password } })
      const { access, refresh } = login.json
      const cookie = `access=${access}; refresh=${refresh}`
      const logout = await api('POST', '/api/logout/', { headers: { cookie, origin: 'https://evil.example' } })
      expect([logout.status, logout.text]).toEqual([200, '{"detail":"Successfully logged out."}'])
      expect(logout.headers.getSetCookie().map((line) => line.split(';', 1)[0])).toEqual([
        'access=',
        'refresh=',
        'refresh=',
      ])
      const still = await api('POST', '/api/token/refresh/', { json: { refresh } })
      expect(still.status).toBe(200)
    })

    it('logout with a dead refresh cookie is still 200 and clears it', async () => {
      const login = await api('POST', '/api/login/', { json: { username: plain.username, password: plain.password } })
      const { refresh } = login.json
      expect((await api('POST', '/api/logout/', { json: { refresh } })).status).toBe(200)
      for (const value of [refresh, 'garbage']) {
        const again = await api('POST', '/api/logout/', { headers: { cookie: `refresh=${value}` } })
        expect([again.status, again.text]).toEqual([200, '{"detail":"Successfully logged out."}'])
        expect(again.headers.getSetCookie()).toHaveLength(3)
      }
    })
  })
})
