/**
 * The REST facade against ../shared/reference/drf-wire.md, section 3's credential rows: no
 * credentials or the other app's scheme, a bad DRF token on code-1, an expired or invalid JWT on
 * code-2, and the role views' 403. Bodies are compared byte for byte.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { bearer, BEARER, FORBIDDEN, NOT_PROVIDED, restClient, token, tokenNotValid } from './helpers/rest.js'
import { sharedServer } from './helpers/server.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now

describe(`${TEST_BACKEND}: REST facade, the seed's wire contract: credentials`, () => {
  const server = sharedServer({}, { clock })
  const { api, keyOf, pairOf } = restClient(() => server.url)
  let plain: { id: number; username: string; password: string }
  let superuser: { id: number; username: string; password: string }
  let manager: { id: number; username: string; password: string }

  beforeAll(async () => {
    plain = await server.createUser()
    superuser = await server.createUser({ isSuperuser: true })
    manager = await server.createUser({ groups: ['Manager'] })
  })

  describe('section 3: missing credentials and the wrong scheme', () => {
    it('401s every protected view without Authorization, naming its own scheme', async () => {
      const code1 = await api('GET', '/api/token-auth/protected/')
      expect([code1.status, code1.text, code1.headers.get('www-authenticate')]).toEqual([401, NOT_PROVIDED, 'Token'])
      for (const path of ['/api/protected/', '/api/admin-content/', '/api/manager-content/', '/api/hr-content/']) {
        const res = await api('GET', path)
        expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([401, NOT_PROVIDED, BEARER])
      }
    })

    it('treats the other app’s scheme, and a JWT in the access cookie alone, as no credentials', async () => {
      const { access } = await pairOf(plain)
      const key = await keyOf(plain)
      const bearerOnCode1 = await api('GET', '/api/token-auth/protected/', { headers: bearer(access) })
      expect([bearerOnCode1.status, bearerOnCode1.text, bearerOnCode1.headers.get('www-authenticate')]).toEqual([
        401,
        NOT_PROVIDED,
        'Token',
      ])
      const tokenOnCode2 = await api('GET', '/api/protected/', { headers: token(key) })
      expect([tokenOnCode2.status, tokenOnCode2.text, tokenOnCode2.headers.get('www-authenticate')]).toEqual([
        401,
        NOT_PROVIDED,
        BEARER,
      ])
      const cookieOnly = await api('GET', '/api/protected/', { headers: { cookie: `access=${access}` } })
      expect([cookieOnly.status, cookieOnly.text]).toEqual([401, NOT_PROVIDED])
    })

    it('matches keywords case-insensitively: `token <key>` on code-1, and (a deviation) `bearer <jwt>` on code-2', async () => {
      const key = await keyOf(plain)
      expect(
        (await api('GET', '/api/token-auth/protected/', { headers: { authorization: `token ${key}` } })).status,
      ).toBe(200)
      // simplejwt compares `Bearer` case-sensitively (401 there); Gatehouse follows RFC 7235.
      const { access } = await pairOf(plain)
      expect((await api('GET', '/api/protected/', { headers: { authorization: `bearer ${access}` } })).status).toBe(200)
    })
  })

  describe('section 3: bad DRF token (code-1)', () => {
    it.each([
      ['Token 0123456789abcdef0123456789abcdef01234567', '{"detail":"Invalid token."}'],
      ['Token', '{"detail":"Invalid token header. No credentials provided."}'],
      ['Token a b', '{"detail":"Invalid token header. Token string should not contain spaces."}'],
    ])('%s → 401 %s', async (authorization, expected) => {
      const res = await api('GET', '/api/token-auth/protected/', { headers: { authorization } })
      expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([401, expected, 'Token'])
    })

    it('refuses the token of an inactive user', async () => {
      const user = await server.createUser()
      const key = await keyOf(user)
      await server.db.updateTable('users').set({ is_active: false }).where('id', '=', user.id).execute()
      await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const res = await api('GET', '/api/token-auth/protected/', { headers: token(key) })
      expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
        401,
        '{"detail":"User inactive or deleted."}',
        'Token',
      ])
    })

    it('checks the header on the AllowAny views too: login with `Token nope` is 401', async () => {
      const res = await api('POST', '/api/token-auth/login/', {
        json: { username: plain.username, password: plain.password },
        headers: { authorization: 'Token nope' },
      })
      expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
        401,
        '{"detail":"Invalid token."}',
        'Token',
      ])
    })
  })

  describe('section 3: expired or invalid JWT (code-2)', () => {
    it('answers simplejwt’s token_not_valid for an expired, garbage or foreign-signed access token', async () => {
      now = START
      const { access } = await pairOf(plain)
      const [head, payload, signature = ''] = access.split('.')
      const forged = `${head}.${payload}.${signature.slice(0, -4)}${signature.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`
      now = new Date(START.getTime() + 301_000)
      for (const jwt of [access, 'not.a.jwt', forged]) {
        const res = await api('GET', '/api/protected/', { headers: bearer(jwt) })
        expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
          401,
          tokenNotValid('Token is invalid or expired'),
          BEARER,
        ])
      }
      now = START
    })

    it('says "Token has wrong type" for a refresh token used as the access token', async () => {
      const { refresh } = await pairOf(plain)
      const res = await api('GET', '/api/protected/', { headers: bearer(refresh) })
      expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
        401,
        tokenNotValid('Token has wrong type'),
        BEARER,
      ])
    })

    it.each(['Bearer', 'Bearer a b'])('%s → bad_authorization_header', async (authorization) => {
      const res = await api('GET', '/api/protected/', { headers: { authorization } })
      expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
        401,
        '{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}',
        BEARER,
      ])
    })

    it('answers user_not_found for a deleted user and user_inactive for an inactive one', async () => {
      const gone = await server.createUser()
      const idle = await server.createUser()
      const goneAccess = (await pairOf(gone)).access
      const idleAccess = (await pairOf(idle)).access
      await server.db.deleteFrom('users').where('id', '=', gone.id).execute()
      await server.db.updateTable('users').set({ is_active: false }).where('id', '=', idle.id).execute()
      await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const deleted = await api('GET', '/api/protected/', { headers: bearer(goneAccess) })
      expect([deleted.status, deleted.text, deleted.headers.get('www-authenticate')]).toEqual([
        401,
        '{"detail":"User not found","code":"user_not_found"}',
        BEARER,
      ])
      const inactive = await api('GET', '/api/protected/', { headers: bearer(idleAccess) })
      expect([inactive.status, inactive.text]).toEqual([401, '{"detail":"User is inactive","code":"user_inactive"}'])
    })

    it('authenticates before AllowAny views: login with `Bearer not.a.jwt` and good credentials is 401', async () => {
      const res = await api('POST', '/api/login/', {
        json: { username: plain.username, password: plain.password },
        headers: bearer('not.a.jwt'),
      })
      expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
        401,
        tokenNotValid('Token is invalid or expired'),
        BEARER,
      ])
      expect(res.headers.getSetCookie()).toEqual([])
      for (const path of ['/api/register/', '/api/logout/']) {
        expect((await api('POST', path, { json: {}, headers: bearer('not.a.jwt') })).status).toBe(401)
      }
    })
  })

  describe('section 3: forbidden', () => {
    it('403s the role views to users outside their group; a superuser passes Admin only', async () => {
      const plainAccess = (await pairOf(plain)).access
      const superAccess = (await pairOf(superuser)).access
      const managerAccess = (await pairOf(manager)).access
      for (const [path, jwt] of [
        ['/api/admin-content/', plainAccess],
        ['/api/admin-content/', managerAccess],
        ['/api/manager-content/', plainAccess],
        ['/api/manager-content/', superAccess],
        ['/api/hr-content/', managerAccess],
        ['/api/hr-content/', superAccess],
      ] as const) {
        const res = await api('GET', path, { headers: bearer(jwt) })
        expect([path, res.status, res.text, res.headers.get('www-authenticate')]).toEqual([path, 403, FORBIDDEN, null])
      }
      expect((await api('GET', '/api/admin-content/', { headers: bearer(superAccess) })).status).toBe(200)
    })
  })
})
