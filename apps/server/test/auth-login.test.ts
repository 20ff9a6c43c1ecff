/**
 * auth.login and the access token over HTTP: the pair it answers, one answer for every bad
 * credential, how a protected procedure refuses each kind of bad header or token, and the role
 * procedures' 403s.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { errorBody, login, mutation, query, wire } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const CHALLENGE = 'Bearer realm="api"'

describe(`${TEST_BACKEND}: auth procedures over HTTP: auth.login and authentication`, () => {
  const server = sharedServer()

  describe('auth.login', () => {
    it('returns access, refresh and the user', async () => {
      const u = await server.createUser()
      const data = await login(server.url, u)
      expect(data.access.split('.')).toHaveLength(3)
      expect(data.refresh.split('.')).toHaveLength(3)
      expect(data.user).toMatchObject({ id: u.id, username: u.username, groups: [] })
      const header = JSON.parse(Buffer.from(data.access.split('.')[0] ?? '', 'base64url').toString())
      expect(header).toMatchObject({ alg: 'EdDSA', typ: 'JWT', kid: expect.any(String) })
      const claims = JSON.parse(Buffer.from(data.access.split('.')[1] ?? '', 'base64url').toString())
      expect(claims).toMatchObject({
        sub: String(u.id),
        token_type: 'access',
        jti: expect.stringMatching(/^[0-9a-f]{32}$/),
      })
      expect(claims.exp - claims.iat).toBe(300)
    })

    it('gives the same answer for an unknown user, a wrong password and an inactive user', async () => {
      const u = await server.createUser()
      const inactive = await server.createUser()
      await server.db.updateTable('users').set({ is_active: false }).where('id', '=', inactive.id).execute()
      await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const answers = await Promise.all([
        mutation(server.url, 'auth.login', { username: 'nobody-here', password: 'whatever-123' }),
        mutation(server.url, 'auth.login', { username: u.username, password: 'wrong-password' }),
        mutation(server.url, 'auth.login', { username: inactive.username, password: inactive.password }),
      ])
      for (const res of answers) {
        expect(res.status).toBe(401)
        expect(res.body).toEqual(
          errorBody({
            message: 'Invalid credentials',
            code: 'UNAUTHORIZED',
            httpStatus: 401,
            path: 'auth.login',
            reason: 'INVALID_CREDENTIALS',
          }),
        )
        // the view's own 401, like DRF's: no challenge
        expect(res.headers.get('www-authenticate')).toBeNull()
      }
    })

    /** @see issue 16, item 12 (public-credentials.test.ts): DRF authenticates AllowAny views too */
    it('answers a junk Authorization header with its 401: login is public but authenticates a header', async () => {
      const u = await server.createUser()
      const res = await wire(`${server.url}/trpc/auth.login`, {
        method: 'POST',
        body: JSON.stringify({ username: u.username, password: u.password }),
        headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.jwt' },
      })
      expect([res.status, res.body.error.data.reason]).toEqual([401, 'TOKEN_INVALID'])
    })
  })

  describe('authentication on protected procedures', () => {
    it('answers 401 with a challenge when no credential is sent', async () => {
      const res = await query(server.url, 'content.protected')
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe(CHALLENGE)
      expect(res.body).toEqual(
        errorBody({
          message: 'Authentication credentials were not provided.',
          code: 'UNAUTHORIZED',
          httpStatus: 401,
          path: 'content.protected',
          reason: 'NOT_AUTHENTICATED',
        }),
      )
    })

    const junk: [string, string, string][] = [
      ['Bearer', 'AUTH_HEADER_INVALID', 'Authorization header must contain two space-delimited values'],
      ['Bearer a b', 'AUTH_HEADER_INVALID', 'Authorization header must contain two space-delimited values'],
      ['Bearer not.a.jwt', 'TOKEN_INVALID', 'Token is invalid or expired'],
      [`Bearer ${'a'.repeat(10_000)}`, 'TOKEN_INVALID', 'Token is invalid or expired'],
      [
        'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIiwidG9rZW5fdHlwZSI6ImFjY2VzcyJ9.',
        'TOKEN_INVALID',
        'Token is invalid or expired',
      ],
    ]
    for (const [header, reason, message] of junk) {
      it(`answers 401 ${reason} for "${header.slice(0, 40)}"`, async () => {
        const res = await query(server.url, 'content.protected', { headers: { authorization: header } })
        expect(res.status).toBe(401)
        expect(res.headers.get('www-authenticate')).toBe(CHALLENGE)
        expect(res.body.error).toMatchObject({ message, data: { code: 'UNAUTHORIZED', reason } })
      })
    }

    it('treats another scheme as no credential at all', async () => {
      const res = await query(server.url, 'content.protected', { headers: { authorization: 'Basic dXNlcjpwYXNz' } })
      expect(res.status).toBe(401)
      expect(res.body.error.data.reason).toBe('NOT_AUTHENTICATED')
    })

    it('refuses a refresh token where an access token is expected', async () => {
      const u = await server.createUser()
      const { refresh } = await login(server.url, u)
      const res = await query(server.url, 'content.protected', { token: refresh })
      expect(res.status).toBe(401)
      expect(res.body.error).toMatchObject({ message: 'Token has wrong type', data: { reason: 'TOKEN_WRONG_TYPE' } })
    })

    it('lets a valid access token in, and auth.me returns the caller', async () => {
      const u = await server.createUser()
      const { access } = await login(server.url, u)
      const res = await query(server.url, 'content.protected', { token: access })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ result: { data: { message: 'This is a protected view' } } })
      const me = await query(server.url, 'auth.me', { token: access })
      expect(me.body.result.data.user).toMatchObject({ id: u.id, username: u.username })
    })

    it('refuses the token of a user who was deactivated or deleted since', async () => {
      const u = await server.createUser()
      const { access } = await login(server.url, u)
      await server.db.updateTable('users').set({ is_active: false }).where('id', '=', u.id).execute()
      await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const inactive = await query(server.url, 'auth.me', { token: access })
      expect(inactive.status).toBe(401)
      expect(inactive.body.error).toMatchObject({ message: 'User is inactive', data: { reason: 'USER_INACTIVE' } })
      await server.db.deleteFrom('users').where('id', '=', u.id).execute()
      await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const deleted = await query(server.url, 'auth.me', { token: access })
      expect(deleted.status).toBe(401)
      expect(deleted.body.error).toMatchObject({ message: 'User not found', data: { reason: 'USER_NOT_FOUND' } })
    })

    it('answers 405 to a query sent as POST and 404 to an unknown procedure', async () => {
      const post = await mutation(server.url, 'content.protected', {})
      expect(post.status).toBe(405)
      const missing = await query(server.url, 'content.nope')
      expect(missing.status).toBe(404)
      const outside = await wire(`${server.url}/nope`)
      expect(outside.status).toBe(404)
    })
  })

  describe('role content', () => {
    it.each([
      ['a plain user', {}, { admin: 403, manager: 403, hr: 403 }],
      ['a member of Admin', { groups: ['Admin'] }, { admin: 200, manager: 403, hr: 403 }],
      ['a member of Manager', { groups: ['Manager'] }, { admin: 403, manager: 200, hr: 403 }],
      ['a member of HR', { groups: ['HR'] }, { admin: 403, manager: 403, hr: 200 }],
      // the tutorial's IsAdmin lets a superuser in; IsManager and IsHR do not
      ['a superuser', { isSuperuser: true, isStaff: true }, { admin: 200, manager: 403, hr: 403 }],
    ] as const)('%s gets the expected statuses', async (_name, opts, expected) => {
      const u = await server.createUser({ ...opts, groups: [...(('groups' in opts && opts.groups) || [])] })
      const { access } = await login(server.url, u)
      for (const [name, status] of Object.entries(expected)) {
        const res = await query(server.url, `content.${name}`, { token: access })
        expect(res.status, name).toBe(status)
        if (status === 403) {
          expect(res.body).toEqual(
            errorBody({
              message: 'You do not have permission to perform this action.',
              code: 'FORBIDDEN',
              httpStatus: 403,
              path: `content.${name}`,
              reason: 'NOT_PERMITTED',
            }),
          )
          expect(res.headers.get('www-authenticate')).toBeNull()
        } else {
          const content = { admin: 'Admin-only content', manager: 'Manager-only content', hr: 'HR-only content' }
          expect(res.body).toEqual({ result: { data: { content: content[name as keyof typeof content] } } })
        }
      }
    })

    it('answers 401, not 403, to an anonymous caller', async () => {
      for (const name of ['admin', 'manager', 'hr']) {
        expect((await query(server.url, `content.${name}`)).status).toBe(401)
      }
    })
  })
})
