/**
 * The REST facade against ../shared/reference/drf-wire.md, row by row: the seed's code-1
 * (`/api/token-auth/`, `Authorization: Token`) and code-2 (`/api/`, Bearer, simplejwt's token
 * views). Bodies are compared byte for byte; where the seed is broken the test says what the
 * facade answers instead.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { startTestServer } from '../src/testing.js'
import type { Answer } from './helpers/rest.js'
import { bearer, restClient, token } from './helpers/rest.js'
import { sharedServer } from './helpers/server.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now

const PASSWORD = 'Tr1cky-passphrase'
const KEY = /^[0-9a-f]{40}$/
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/
const BEARER = 'Bearer realm="api"'

const NOT_PROVIDED = '{"detail":"Authentication credentials were not provided."}'
const FORBIDDEN = '{"detail":"You do not have permission to perform this action."}'
const REQUIRED_BOTH = '{"username":["This field is required."],"password":["This field is required."]}'
const tokenNotValid = (message: string) =>
  `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"${message}"}]}`

/** The headers every DRF view answer carries (section 1). */
function expectDrfHeaders(res: Answer, allow: string, vary = 'Accept') {
  expect(res.headers.get('content-type')).toBe('application/json')
  expect(res.headers.get('allow')).toBe(allow)
  expect(res.headers.get('vary')).toBe(vary)
  expect(res.headers.get('x-frame-options')).toBe('DENY')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('referrer-policy')).toBe('same-origin')
  expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(res.text)))
}

describe(`${TEST_BACKEND}: REST facade, the seed's wire contract`, () => {
  const server = sharedServer({}, { clock })
  const { api, keyOf, pairOf } = restClient(() => server.url)
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

  describe('section 1: headers', () => {
    it('answers compact JSON without charset, with Allow, Vary and the security headers; no cookie on code-1', async () => {
      const res = await api('GET', '/api/token-auth/protected/', { headers: token(await keyOf(plain)) })
      expect(res.status).toBe(200)
      expectDrfHeaders(res, 'GET, HEAD, OPTIONS')
      expect(res.headers.getSetCookie()).toEqual([])
      // Compact, no trailing newline.
      expect(res.text).toBe('{"message":"Hello, I am a protected content. Only authorised users can access me!"}')
    })

    it('says Vary: Accept, Cookie on the JWT login and logout, Allow: POST, OPTIONS on every POST view', async () => {
      const login = await api('POST', '/api/login/', { json: { username: plain.username, password: plain.password } })
      expectDrfHeaders(login, 'POST, OPTIONS', 'Accept, Cookie')
      const logout = await api('POST', '/api/logout/', { json: { refresh: login.json.refresh } })
      expectDrfHeaders(logout, 'POST, OPTIONS', 'Accept, Cookie')
      for (const path of [
        '/api/token-auth/register/',
        '/api/token-auth/login/',
        '/api/register/',
        '/api/token/verify/',
      ]) {
        const res = await api('POST', path, { json: {} })
        expectDrfHeaders(res, 'POST, OPTIONS')
      }
    })
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

  describe('section 3: bad login', () => {
    it('code-1: a wrong password or an unknown user is 401 {"error":"Invalid Credentials"}, without a challenge', async () => {
      for (const json of [
        { username: plain.username, password: 'wrong-passphrase' },
        { username: 'nobody-here', password: PASSWORD },
      ]) {
        const res = await api('POST', '/api/token-auth/login/', { json })
        expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
          401,
          '{"error":"Invalid Credentials"}',
          null,
        ])
      }
      const empty = await api('POST', '/api/token-auth/login/', { json: {} })
      expect([empty.status, empty.text]).toEqual([400, REQUIRED_BOTH])
    })

    it('code-2: a wrong password, an unknown user or {} is 401 {"detail":"Invalid credentials"}, without a challenge', async () => {
      for (const json of [
        { username: plain.username, password: 'wrong-passphrase' },
        { username: 'nobody', password: 'x' },
        {},
      ]) {
        const res = await api('POST', '/api/login/', { json })
        expect([res.status, res.text, res.headers.get('www-authenticate')]).toEqual([
          401,
          '{"detail":"Invalid credentials"}',
          null,
        ])
        expect(res.headers.getSetCookie()).toEqual([])
      }
    })

    it('code-2: a JSON array body is 400 (the seed answers a 500 HTML page)', async () => {
      const res = await api('POST', '/api/login/', { json: [] })
      expect([res.status, res.text]).toEqual([
        400,
        '{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}',
      ])
      expect(res.headers.get('content-type')).toBe('application/json')
      const scalar = await api('POST', '/api/login/', { body: 'null', headers: { 'content-type': 'application/json' } })
      expect(scalar.text).toBe('{"non_field_errors":["Invalid data. Expected a dictionary, but got NoneType."]}')
    })
  })

  describe('section 3: duplicate username', () => {
    it('is a 400 field error on both apps, and case-sensitive', async () => {
      for (const path of ['/api/token-auth/register/', '/api/register/']) {
        const res = await api('POST', path, { json: { username: plain.username, password: PASSWORD } })
        expect([path, res.status, res.text]).toEqual([
          path,
          400,
          '{"username":["A user with that username already exists."]}',
        ])
      }
      expect((await api('POST', '/api/register/', { json: { username: 'Casey', password: PASSWORD } })).status).toBe(
        201,
      )
      expect((await api('POST', '/api/register/', { json: { username: 'casey', password: PASSWORD } })).status).toBe(
        201,
      )
    })
  })

  describe('section 3: invalid body', () => {
    it.each([
      ['{"username":', 'Expecting value: line 1 column 13 (char 12)'],
      ['{', 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
    ])('malformed JSON %s → 400 with Python’s message', async (body, message) => {
      for (const path of [
        '/api/token-auth/register/',
        '/api/token-auth/login/',
        '/api/register/',
        '/api/login/',
        '/api/token/refresh/',
      ]) {
        const res = await api('POST', path, { body, headers: { 'content-type': 'application/json' } })
        expect([path, res.status, res.text]).toEqual([
          path,
          400,
          JSON.stringify({ detail: `JSON parse error - ${message}` }),
        ])
      }
    })

    it('lists register’s field errors in field order, with Django’s messages', async () => {
      for (const path of ['/api/token-auth/register/', '/api/register/']) {
        expect((await api('POST', path, { json: {} })).text).toBe(REQUIRED_BOTH)
        const blank = await api('POST', path, { json: { username: 'blankpass', password: '' } })
        expect([blank.status, blank.text]).toEqual([400, '{"password":["This field may not be blank."]}'])
        const bad = await api('POST', path, { json: { username: 'bad user!', password: PASSWORD } })
        expect([bad.status, bad.text]).toEqual([
          400,
          '{"username":["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}',
        ])
        const long = await api('POST', path, { json: { username: 'u'.repeat(151), password: PASSWORD } })
        expect([long.status, long.text]).toEqual([
          400,
          '{"username":["Ensure this field has no more than 150 characters."]}',
        ])
      }
      const email = await api('POST', '/api/register/', {
        json: { username: 'mailer', password: PASSWORD, email: 'not-an-email' },
      })
      expect([email.status, email.text]).toEqual([400, '{"email":["Enter a valid email address."]}'])
    })

    it('answers 415 for a media type no parser reads, quoting the header', async () => {
      const res = await api('POST', '/api/register/', { body: 'username=x', headers: { 'content-type': 'text/plain' } })
      expect([res.status, res.text]).toEqual([415, '{"detail":"Unsupported media type \\"text/plain\\" in request."}'])
      const withCharset = await api('POST', '/api/login/', {
        body: 'x',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      })
      expect(withCharset.text).toBe('{"detail":"Unsupported media type \\"text/plain; charset=utf-8\\" in request."}')
    })

    it('accepts form and multipart bodies like JSON', async () => {
      const form = await api('POST', '/api/register/', {
        body: new URLSearchParams({ username: 'formuser', password: PASSWORD, email: 'f@example.com' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
      expect([form.status, form.text]).toEqual([201, '{"username":"formuser","email":"f@example.com"}'])
      const multipart = new FormData()
      multipart.set('username', 'formuser')
      multipart.set('password', PASSWORD)
      const login = await api('POST', '/api/login/', { body: multipart })
      expect(login.status).toBe(200)
      expect(Object.keys(login.json)).toEqual(['access', 'refresh'])
      const code1 = await api('POST', '/api/token-auth/login/', {
        body: `username=formuser&password=${encodeURIComponent(PASSWORD)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
      expect(code1.json.token).toMatch(KEY)
    })

    it('says which field refresh and verify miss', async () => {
      const refresh = await api('POST', '/api/token/refresh/', { json: {} })
      expect([refresh.status, refresh.text]).toEqual([400, '{"refresh":["This field is required."]}'])
      const verify = await api('POST', '/api/token/verify/', { json: {} })
      expect([verify.status, verify.text]).toEqual([400, '{"token":["This field is required."]}'])
    })
  })

  describe('section 3: wrong method', () => {
    it('405s with Allow, after authentication and permissions', async () => {
      const get = await api('GET', '/api/login/')
      expect([get.status, get.text, get.headers.get('allow')]).toEqual([
        405,
        '{"detail":"Method \\"GET\\" not allowed."}',
        'POST, OPTIONS',
      ])
      const anonymous = await api('POST', '/api/token-auth/protected/')
      expect([anonymous.status, anonymous.text, anonymous.headers.get('www-authenticate')]).toEqual([
        401,
        NOT_PROVIDED,
        'Token',
      ])
      const signedIn = await api('POST', '/api/token-auth/protected/', { headers: token(await keyOf(plain)) })
      expect([signedIn.status, signedIn.text, signedIn.headers.get('allow')]).toEqual([
        405,
        '{"detail":"Method \\"POST\\" not allowed."}',
        'GET, HEAD, OPTIONS',
      ])
      const notAdmin = await api('DELETE', '/api/admin-content/', { headers: bearer((await pairOf(plain)).access) })
      expect([notAdmin.status, notAdmin.text]).toEqual([403, FORBIDDEN])
    })
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
      expect(logout.headers.getSetCookie().map((line) => line.split(';', 1)[0])).toEqual(['access=', 'refresh=', 'refresh='])
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

  describe('section 7: Django-level answers', () => {
    it('answers an unknown path 404 in JSON (Django sends an HTML page)', async () => {
      const res = await api('GET', '/api/nope/')
      expect([res.status, res.text, res.headers.get('content-type'), res.headers.get('allow')]).toEqual([
        404,
        '{"detail":"Not found."}',
        'application/json',
        null,
      ])
    })

    it('redirects a read without its trailing slash (301) and keeps a POST’s method and body (308)', async () => {
      const read = await api('GET', '/api/protected?x=1')
      expect([read.status, read.headers.get('location'), read.text]).toEqual([301, '/api/protected/?x=1', ''])
      const post = await api('POST', '/api/login', { json: { username: plain.username, password: plain.password } })
      expect([post.status, post.headers.get('location')]).toEqual([308, '/api/login/'])
      const followed = await api('POST', '/api/login', {
        json: { username: plain.username, password: plain.password },
        redirect: 'follow',
      })
      expect(followed.status).toBe(200)
      expect(Object.keys(followed.json)).toEqual(['access', 'refresh'])
      expect((await api('GET', '/api/nope')).status).toBe(404)
    })

    it('answers OPTIONS with the view’s metadata, after the same checks as any method', async () => {
      const res = await api('OPTIONS', '/api/register/')
      expect([res.status, res.text, res.headers.get('allow')]).toEqual([
        200,
        '{"name":"Register","description":"","renders":["application/json"],"parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"]}',
        'POST, OPTIONS',
      ])
      expect((await api('OPTIONS', '/api/hr-content/')).status).toBe(401)
      const hrAccess = (await pairOf(hr)).access
      expect((await api('OPTIONS', '/api/hr-content/', { headers: bearer(hrAccess) })).json.name).toBe('HR Content')
    })

    it('renders JSON whatever Accept asks for (no Browsable API), and sets no cookie for it', async () => {
      const res = await api('GET', '/api/protected/', { headers: { accept: 'text/html' } })
      expect([res.status, res.text, res.headers.get('content-type')]).toEqual([401, NOT_PROVIDED, 'application/json'])
      expect(res.headers.getSetCookie()).toEqual([])
    })

    it('answers HEAD like GET, without a body', async () => {
      const res = await api('HEAD', '/api/protected/', { headers: bearer((await pairOf(plain)).access) })
      expect([res.status, res.text, res.headers.get('content-type')]).toEqual([200, '', 'application/json'])
      expect(res.headers.get('content-length')).toBe(String('{"message":"This is a protected view"}'.length))
    })
  })

  describe('413', () => {
    it('refuses a body over MAX_BODY_BYTES, declared or streamed', async () => {
      const huge = JSON.stringify({ username: 'x', password: 'y'.repeat(2 * 1024 * 1024) })
      const declared = await api('POST', '/api/register/', {
        body: huge,
        headers: { 'content-type': 'application/json' },
      })
      expect([declared.status, declared.text]).toEqual([413, '{"detail":"Request body is larger than 1048576 bytes."}'])
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(huge))
          controller.close()
        },
      })
      const streamed = await fetch(`${server.url}/api/register/`, {
        method: 'POST',
        body: stream,
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
      } as RequestInit)
      expect([streamed.status, await streamed.text()]).toEqual([
        413,
        '{"detail":"Request body is larger than 1048576 bytes."}',
      ])
    })
  })
})

describe(`${TEST_BACKEND}: REST facade, throttling`, () => {
  it('answers 429 with Retry-After and DRF’s message', async () => {
    await using server = await startTestServer({ THROTTLE_RATES: 'register=1/h' })
    const { api } = restClient(() => server.url)
    expect((await api('POST', '/api/register/', { json: { username: 'first', password: PASSWORD } })).status).toBe(201)
    const res = await api('POST', '/api/register/', { json: { username: 'second', password: PASSWORD } })
    expect(res.status).toBe(429)
    const wait = Number(res.headers.get('retry-after'))
    expect(wait).toBeGreaterThan(0)
    expect(res.text).toBe(
      `{"detail":"Request was throttled. Expected available in ${wait} second${wait === 1 ? '' : 's'}."}`,
    )
  })
})
