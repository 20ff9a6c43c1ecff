/**
 * The REST facade against ../shared/reference/drf-wire.md, section 4: what register, login,
 * refresh, verify and logout answer on both apps, and how refresh and verify fail. Bodies are
 * compared byte for byte; where the seed is broken the test says what the facade answers instead.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { bearer, BEARER, JWT, PASSWORD, restClient, token } from './helpers/rest.js'
import { sharedServer } from './helpers/server.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now

describe(`${TEST_BACKEND}: REST facade, the seed's wire contract: success bodies and token failures`, () => {
  const server = sharedServer({}, { clock })
  const { api, pairOf } = restClient(() => server.url)
  let plain: { id: number; username: string; password: string }
  let admin: { id: number; username: string; password: string }
  let superuser: { id: number; username: string; password: string }
  let manager: { id: number; username: string; password: string }
  let hr: { id: number; username: string; password: string }

  beforeAll(async () => {
    plain = await server.createUser()
    admin = await server.createUser({ groups: ['Admin'] })
    superuser = await server.createUser({ isSuperuser: true })
    manager = await server.createUser({ groups: ['Manager'] })
    hr = await server.createUser({ groups: ['HR'] })
  })

  describe('section 4: success bodies', () => {
    it('code-1: register answers 201 {username, token}; login the same token; protected the seed’s message', async () => {
      const reg = await api('POST', '/api/token-auth/register/', { json: { username: 'alice', password: PASSWORD } })
      expect(reg.status).toBe(201)
      expect(reg.text).toMatch(/^\{"username":"alice","token":"[0-9a-f]{40}"\}$/)
      expect(reg.headers.get('location')).toBeNull()
      const login = await api('POST', '/api/token-auth/login/', { json: { username: 'alice', password: PASSWORD } })
      expect(login.status).toBe(200)
      // "the same key as at registration; one token per user" (drf-wire.md, section 4)
      expect(login.text).toBe(`{"token":"${reg.json.token as string}"}`)
      const again = await api('POST', '/api/token-auth/login/', { json: { username: 'alice', password: PASSWORD } })
      expect(again.text).toBe(login.text)
      const res = await api('GET', '/api/token-auth/protected/', { headers: token(login.json.token) })
      expect([res.status, res.text]).toEqual([
        200,
        '{"message":"Hello, I am a protected content. Only authorised users can access me!"}',
      ])
    })

    it('code-2: register answers 201 {username, email}, email "" when omitted', async () => {
      const bob = await api('POST', '/api/register/', {
        json: { username: 'bob', password: PASSWORD, email: 'bob@example.com' },
      })
      expect([bob.status, bob.text]).toEqual([201, '{"username":"bob","email":"bob@example.com"}'])
      const eve = await api('POST', '/api/register/', { json: { username: 'eve', password: PASSWORD } })
      expect([eve.status, eve.text]).toEqual([201, '{"username":"eve","email":""}'])
    })

    it('code-2: login answers {access, refresh}; the protected and role views answer their content', async () => {
      const login = await api('POST', '/api/login/', { json: { username: plain.username, password: plain.password } })
      expect(login.status).toBe(200)
      expect(Object.keys(login.json)).toEqual(['access', 'refresh'])
      expect(login.json.access).toMatch(JWT)
      expect(login.json.refresh).toMatch(JWT)
      const protectedView = await api('GET', '/api/protected/', { headers: bearer(login.json.access) })
      expect([protectedView.status, protectedView.text]).toEqual([200, '{"message":"This is a protected view"}'])
      for (const [user, path, content] of [
        [admin, '/api/admin-content/', 'Admin-only content'],
        [superuser, '/api/admin-content/', 'Admin-only content'],
        [manager, '/api/manager-content/', 'Manager-only content'],
        [hr, '/api/hr-content/', 'HR-only content'],
      ] as const) {
        const res = await api('GET', path, { headers: bearer((await pairOf(user)).access) })
        expect([res.status, res.text]).toEqual([200, `{"content":"${content}"}`])
      }
    })

    it('refresh rotates and blacklists the old token; verify answers {} for access and refresh tokens', async () => {
      const { refresh } = await pairOf(plain)
      const rotated = await api('POST', '/api/token/refresh/', { json: { refresh } })
      expect(rotated.status).toBe(200)
      expect(Object.keys(rotated.json)).toEqual(['access', 'refresh'])
      expect(rotated.json.refresh).not.toBe(refresh)
      const issuedAt = now
      now = new Date(issuedAt.getTime() + 11_000) // past REFRESH_REUSE_INTERVAL: reuse, not another tab
      const again = await api('POST', '/api/token/refresh/', { json: { refresh } })
      now = issuedAt
      expect([again.status, again.text, again.headers.get('www-authenticate')]).toEqual([
        401,
        '{"detail":"Token is blacklisted","code":"token_not_valid"}',
        BEARER,
      ])
      // A fresh login: the reuse above ended the user's earlier access tokens (the epoch moved on).
      const fresh = await pairOf(plain)
      for (const jwt of [fresh.access, fresh.refresh]) {
        const res = await api('POST', '/api/token/verify/', { json: { token: jwt } })
        expect([res.status, res.text]).toEqual([200, '{}'])
      }
    })

    it('logout answers without credentials and, unlike the seed, blacklists the refresh token', async () => {
      const { refresh } = await pairOf(plain)
      const res = await api('POST', '/api/logout/', { json: { refresh } })
      expect([res.status, res.text]).toEqual([200, '{"detail":"Successfully logged out."}'])
      const reuse = await api('POST', '/api/token/refresh/', { json: { refresh } })
      expect([reuse.status, reuse.text]).toEqual([401, '{"detail":"Token is blacklisted","code":"token_not_valid"}'])
      // With nothing to end, the seed's contract: 200, as its view answers every caller.
      const nothing = await api('POST', '/api/logout/')
      expect([nothing.status, nothing.text]).toEqual([200, '{"detail":"Successfully logged out."}'])
      expect(nothing.headers.getSetCookie()).toEqual([])
    })
  })

  describe('section 4: refresh and verify failures', () => {
    it('refresh: an access token has the wrong type; garbage and expired tokens are invalid', async () => {
      now = START
      const { access, refresh } = await pairOf(plain)
      const wrong = await api('POST', '/api/token/refresh/', { json: { refresh: access } })
      expect([wrong.status, wrong.text, wrong.headers.get('www-authenticate')]).toEqual([
        401,
        '{"detail":"Token has wrong type","code":"token_not_valid"}',
        BEARER,
      ])
      now = new Date(START.getTime() + 8 * 86_400_000)
      for (const jwt of ['garbage', refresh]) {
        for (const [path, field] of [
          ['/api/token/refresh/', 'refresh'],
          ['/api/token/verify/', 'token'],
        ] as const) {
          const res = await api('POST', path, { json: { [field]: jwt } })
          expect([path, res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
            path,
            401,
            '{"detail":"Token is invalid or expired","code":"token_not_valid"}',
            BEARER,
          ])
        }
      }
      now = START
    })

    it('verify: a blacklisted refresh token is 400 non_field_errors, without a challenge', async () => {
      const { refresh } = await pairOf(plain)
      expect((await api('POST', '/api/token/refresh/', { json: { refresh } })).status).toBe(200)
      const res = await api('POST', '/api/token/verify/', { json: { token: refresh } })
      expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
        400,
        '{"non_field_errors":["Token is blacklisted"]}',
        null,
      ])
    })

    it('token views never authenticate: a bad Authorization header does not stop a refresh', async () => {
      const { refresh } = await pairOf(plain)
      const res = await api('POST', '/api/token/refresh/', { json: { refresh }, headers: bearer('not.a.jwt') })
      expect(res.status).toBe(200)
    })
  })
})
