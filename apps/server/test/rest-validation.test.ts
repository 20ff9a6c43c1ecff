/**
 * The REST facade against ../shared/reference/drf-wire.md, section 3's input rows: bad logins, a
 * taken username, malformed and invalid bodies, and the wrong method. Bodies are compared byte
 * for byte; where the seed is broken the test says what the facade answers instead.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { bearer, DRF_KEY, FORBIDDEN, NOT_PROVIDED, PASSWORD, REQUIRED_BOTH, restClient, token } from './helpers/rest.js'
import { sharedServer } from './helpers/server.js'

/** The server's time, as in the other REST files (some move it). */
const clock = () => new Date('2026-05-01T12:00:00Z')

describe(`${TEST_BACKEND}: REST facade, the seed's wire contract: input errors`, () => {
  const server = sharedServer({}, { clock })
  const { api, keyOf, pairOf } = restClient(() => server.url)
  let plain: { id: number; username: string; password: string }

  beforeAll(async () => {
    plain = await server.createUser()
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
      expect(code1.json.token).toMatch(DRF_KEY)
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
})
