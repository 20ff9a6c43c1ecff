/**
 * auth.register over HTTP: the user it answers, Django's and DRF's validation messages, a taken
 * or look-alike username, and malformed or oversized bodies.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { errorBody, mutation, wire } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

describe(`${TEST_BACKEND}: auth procedures over HTTP: auth.register`, () => {
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
})
