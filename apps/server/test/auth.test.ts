import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { errorBody, login, mutation, query, wire } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const CHALLENGE = 'Bearer realm="api"'

describe(`${TEST_BACKEND}: auth procedures over HTTP`, () => {
  // Every test here registers from 127.0.0.1; the default register=20/h would refuse the 21st.
  const server = sharedServer({ THROTTLE_RATES: 'register=1000/h' })

  describe('auth.register', () => {
    it('creates a user and returns it without any password field', async () => {
      const res = await mutation(server.url, 'auth.register', {
        username: 'alice',
        password: 'Tr1cky-passphrase',
        email: 'alice@example.com',
      })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({
        result: {
          data: {
            user: {
              id: expect.any(Number),
              username: 'alice',
              email: 'alice@example.com',
              isStaff: false,
              isSuperuser: false,
              groups: [],
              dateJoined: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
            },
          },
        },
      })
      expect(JSON.stringify(res.body)).not.toMatch(/password|bcrypt|\$2b\$/)
    })

    it('answers 409 with a username field error for a taken name (case-sensitive, like Django)', async () => {
      await mutation(server.url, 'auth.register', { username: 'bob', password: 'Tr1cky-passphrase' })
      const res = await mutation(server.url, 'auth.register', { username: 'bob', password: 'Other-passphrase9' })
      expect(res.status).toBe(409)
      expect(res.body).toEqual(
        errorBody({
          message: 'A user with that username already exists.',
          code: 'CONFLICT',
          httpStatus: 409,
          path: 'auth.register',
          reason: 'USERNAME_TAKEN',
          fieldErrors: { username: ['A user with that username already exists.'] },
        }),
      )
      const other = await mutation(server.url, 'auth.register', { username: 'Bob', password: 'Tr1cky-passphrase' })
      expect(other.status).toBe(200)
    })

    it('takes a look-alike of a taken name as that name (NFKC, as Django stores usernames)', async () => {
      await mutation(server.url, 'auth.register', { username: 'dave', password: 'Tr1cky-passphrase' })
      const twin = await mutation(server.url, 'auth.register', { username: 'ｄａｖｅ', password: 'Tr1cky-passphrase' })
      expect([twin.status, twin.body.error.data.fieldErrors]).toEqual([
        409,
        { username: ['A user with that username already exists.'] },
      ])
      const wide = await mutation(server.url, 'auth.register', { username: 'ｅｖｅ', password: 'Tr1cky-passphrase' })
      expect(wide.body.result.data.user.username).toBe('eve')
      const back = await mutation(server.url, 'auth.login', { username: 'ｅｖｅ', password: 'Tr1cky-passphrase' })
      expect(back.status).toBe(200)
    })

    it("applies Django's password validators with their messages", async () => {
      const res = await mutation(server.url, 'auth.register', { username: 'carol', password: '1234567' })
      expect(res.status).toBe(400)
      expect(res.body.error.data.reason).toBe('PASSWORD_INVALID')
      expect(res.body.error.data.fieldErrors).toEqual({
        password: [
          'This password is too short. It must contain at least 8 characters.',
          'This password is too common.',
          'This password is entirely numeric.',
        ],
      })
      const similar = await mutation(server.url, 'auth.register', { username: 'carolina', password: 'carolina1' })
      expect(similar.body.error.data.fieldErrors.password).toContain('The password is too similar to the username.')
    })

    it('names every missing field with DRF messages', async () => {
      const res = await mutation(server.url, 'auth.register', {})
      expect(res.status).toBe(400)
      expect(res.body.error.data.fieldErrors).toEqual({
        username: ['This field is required.'],
        password: ['This field is required.'],
      })
      expect(res.body.error.message).toContain('username')
    })

    const badInputs: [string, unknown, string][] = [
      ['unknown field', { username: 'dave', password: 'Tr1cky-passphrase', admin: true }, 'admin'],
      ['wrong type', { username: 42, password: 'Tr1cky-passphrase' }, 'username'],
      ['blank password', { username: 'dave', password: '' }, 'password'],
      ['bad characters', { username: 'bad user!', password: 'Tr1cky-passphrase' }, 'username'],
      ['151 characters', { username: 'u'.repeat(151), password: 'Tr1cky-passphrase' }, 'username'],
      ['100 kB string', { username: 'x'.repeat(100_000), password: 'Tr1cky-passphrase' }, 'username'],
      ['bad email', { username: 'dave', password: 'Tr1cky-passphrase', email: 'not-an-email' }, 'email'],
    ]
    for (const [name, input, field] of badInputs) {
      it(`answers 400 naming the field for ${name}`, async () => {
        const res = await mutation(server.url, 'auth.register', input)
        expect(res.status).toBe(400)
        expect(res.body.error.data.code).toBe('BAD_REQUEST')
        expect(Object.keys(res.body.error.data.fieldErrors)).toContain(field)
        expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+|stack/)
      })
    }

    it('rejects malformed JSON, arrays and non-objects with 400, never 500', async () => {
      for (const body of ['{"username":', '{', '[]', '"text"', 'null', '']) {
        const res = await wire(`${server.url}/trpc/auth.register`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        })
        expect(res.status, body).toBe(400)
        expect(['PARSE_ERROR', 'BAD_REQUEST']).toContain(res.body.error.data.code)
      }
      expect((await wire(`${server.url}/healthz`)).status).toBe(200)
    })

    it('refuses a body over the limit with 413', async () => {
      const res = await mutation(server.url, 'auth.register', { username: 'x', password: 'y'.repeat(1_100_000) })
      expect(res.status).toBe(413)
      expect(res.body.error.data.code).toBe('PAYLOAD_TOO_LARGE')
    })
  })

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

  describe('refresh, rotation and logout', () => {
    it('rotates: a new pair, and the old refresh token is blacklisted', async () => {
      const u = await server.createUser()
      const first = await login(server.url, u)
      const res = await mutation(server.url, 'auth.refresh', { refresh: first.refresh })
      expect(res.status).toBe(200)
      const next = res.body.result.data
      expect(Object.keys(next).sort()).toEqual(['access', 'refresh'])
      expect(next.refresh).not.toBe(first.refresh)
      expect((await query(server.url, 'auth.me', { token: next.access })).status).toBe(200)
      // Presented again it is a grace sibling or reuse (refresh-reuse.test.ts); verify says what it is.
      const old = await mutation(server.url, 'auth.verify', { token: first.refresh })
      expect(old.status).toBe(401)
      expect(old.headers.get('www-authenticate')).toBe(CHALLENGE)
      expect(old.body.error).toMatchObject({ message: 'Token is blacklisted', data: { reason: 'TOKEN_BLACKLISTED' } })
    })

    it('refuses an access token, garbage and a missing field', async () => {
      const u = await server.createUser()
      const { access } = await login(server.url, u)
      const wrong = await mutation(server.url, 'auth.refresh', { refresh: access })
      expect(wrong.status).toBe(401)
      expect(wrong.body.error).toMatchObject({ message: 'Token has wrong type', data: { reason: 'TOKEN_WRONG_TYPE' } })
      const garbage = await mutation(server.url, 'auth.refresh', { refresh: 'garbage' })
      expect(garbage.status).toBe(401)
      expect(garbage.body.error).toMatchObject({
        message: 'Token is invalid or expired',
        data: { reason: 'TOKEN_INVALID' },
      })
      const missing = await mutation(server.url, 'auth.refresh', {})
      expect(missing.status).toBe(400)
      expect(missing.body.error.data.fieldErrors).toEqual({ refresh: ['This field is required.'] })
    })

    it('an inactive or deleted user cannot refresh', async () => {
      const u = await server.createUser()
      const { refresh } = await login(server.url, u)
      await server.db.updateTable('users').set({ is_active: false }).where('id', '=', u.id).execute()
      await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const inactive = await mutation(server.url, 'auth.refresh', { refresh })
      expect(inactive.status).toBe(401)
      expect(inactive.body.error.data.reason).toBe('USER_INACTIVE')
      await server.db.deleteFrom('users').where('id', '=', u.id).execute()
      await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const deleted = await mutation(server.url, 'auth.refresh', { refresh })
      expect(deleted.status).toBe(401)
    })

    it('logout blacklists the refresh token and is idempotent', async () => {
      const u = await server.createUser()
      const { refresh } = await login(server.url, u)
      const res = await mutation(server.url, 'auth.logout', { refresh })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ result: { data: { detail: 'Successfully logged out.' } } })
      expect((await mutation(server.url, 'auth.logout', { refresh })).status).toBe(200)
      const after = await mutation(server.url, 'auth.refresh', { refresh })
      expect(after.status).toBe(401)
      expect(after.body.error.data.reason).toBe('TOKEN_BLACKLISTED')
    })
  })

  describe('auth.verify', () => {
    it('accepts access and refresh tokens and reports their type and expiry', async () => {
      const u = await server.createUser()
      const { access, refresh } = await login(server.url, u)
      const a = await mutation(server.url, 'auth.verify', { token: access })
      expect(a.body).toEqual({ result: { data: { valid: true, tokenType: 'access', exp: expect.any(Number) } } })
      const r = await mutation(server.url, 'auth.verify', { token: refresh })
      expect(r.body.result.data.tokenType).toBe('refresh')
      await mutation(server.url, 'auth.logout', { refresh })
      const revoked = await mutation(server.url, 'auth.verify', { token: refresh })
      expect(revoked.status).toBe(401)
      expect(revoked.body.error.data.reason).toBe('TOKEN_BLACKLISTED')
      const bad = await mutation(server.url, 'auth.verify', { token: 'x.y.z' })
      expect(bad.status).toBe(401)
    })
  })

  describe('service endpoints', () => {
    it('GET /healthz answers ok', async () => {
      const res = await wire(`${server.url}/healthz`)
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ status: 'ok' })
    })

    it('publishes the public signing keys with their kid and no private part', async () => {
      const res = await wire(`${server.url}/.well-known/jwks.json`)
      expect(res.status).toBe(200)
      expect(res.body.keys).toHaveLength(1)
      const [key] = res.body.keys
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String) })
      expect(key.d).toBeUndefined()
    })
  })
})
