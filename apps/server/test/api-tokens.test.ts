/**
 * Opaque API tokens over raw HTTP: DRF TokenAuthentication's exact failures, the key shown once,
 * and the auth.tokens.* procedures.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it, vi } from 'vitest'

import { errorBody, mutation, obtainKey, query, wire } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const withKey = (key: string) => ({ authorization: `Token ${key}` })

function tokenMutation(base: string, path: string, opts: { input?: unknown; authorization: string }) {
  return wire(`${base}/trpc/${path}`, {
    method: 'POST',
    body: opts.input === undefined ? undefined : JSON.stringify(opts.input),
    headers: { 'content-type': 'application/json', authorization: opts.authorization },
  })
}

describe(`${TEST_BACKEND}: API tokens over HTTP`, () => {
  const server = sharedServer()

  function refusal(message: string, reason: string, path = 'content.protected') {
    return errorBody({ message, code: 'UNAUTHORIZED', httpStatus: 401, path, reason })
  }

  describe('auth.tokens.obtain', () => {
    it("returns DRF's key (40 lower-case hex) that authenticates as Authorization: Token <key>", async () => {
      const { username, password } = await server.createUser()
      const key = await obtainKey(server.url, { username, password })
      expect(key).toMatch(/^[0-9a-f]{40}$/)
      const res = await query(server.url, 'content.protected', { headers: withKey(key) })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ result: { data: { message: 'This is a protected view' } } })
      // DRF matches its keyword case-insensitively.
      expect(
        (await query(server.url, 'auth.me', { headers: { authorization: `token ${key}` } })).body.result.data.user
          .username,
      ).toBe(username)
    })

    it('should give two clients of one user the same key, and neither locks the other out', async () => {
      const { username, password } = await server.createUser()
      const phone = await obtainKey(server.url, { username, password })
      const laptop = await obtainKey(server.url, { username, password })
      expect(laptop).toBe(phone)
      // The same key through the REST twins (code-1's login, DRF's obtain_auth_token).
      const code1 = await wire(`${server.url}/api/token-auth/login/`, {
        method: 'POST',
        body: JSON.stringify({ username, password }),
        headers: { 'content-type': 'application/json' },
      })
      const obtainAuthToken = await wire(`${server.url}/api/api-token-auth/`, {
        method: 'POST',
        body: JSON.stringify({ username, password }),
        headers: { 'content-type': 'application/json' },
      })
      expect([code1.status, code1.body]).toEqual([200, { token: phone }])
      expect([obtainAuthToken.status, obtainAuthToken.body]).toEqual([200, { token: phone }])
      for (const key of [phone, laptop]) {
        expect((await query(server.url, 'content.protected', { headers: withKey(key) })).status).toBe(200)
      }
    })

    it('revokeAll ends the key; the next login answers a new one and the old one stays dead', async () => {
      const { username, password } = await server.createUser()
      const old = await obtainKey(server.url, { username, password })
      const revoked = await tokenMutation(server.url, 'auth.tokens.revokeAll', { authorization: `Token ${old}` })
      expect(revoked.body).toEqual({ result: { data: { detail: 'Tokens revoked.', revoked: 1 } } })
      expect((await query(server.url, 'content.protected', { headers: withKey(old) })).status).toBe(401)
      const fresh = await obtainKey(server.url, { username, password })
      expect(fresh).toMatch(/^[0-9a-f]{40}$/)
      expect(fresh).not.toBe(old)
      expect((await query(server.url, 'content.protected', { headers: withKey(fresh) })).status).toBe(200)
      expect((await query(server.url, 'content.protected', { headers: withKey(old) })).status).toBe(401)
      expect(await obtainKey(server.url, { username, password })).toBe(fresh)
    })

    it('revoking the key by its id ends it for good: the next login answers another', async () => {
      const { username, password } = await server.createUser()
      const old = await obtainKey(server.url, { username, password })
      const listed = await query(server.url, 'auth.tokens.list', { headers: withKey(old) })
      const [item] = listed.body.result.data.items as { id: string; name: string }[]
      expect(item?.name).toBe('default')
      const revoked = await tokenMutation(server.url, 'auth.tokens.revoke', {
        input: { id: item?.id },
        authorization: `Token ${old}`,
      })
      expect(revoked.status).toBe(200)
      const fresh = await obtainKey(server.url, { username, password })
      expect(fresh).not.toBe(old)
      expect((await query(server.url, 'content.protected', { headers: withKey(old) })).status).toBe(401)
    })

    it('attack: the database holds no key, only its digest', async () => {
      const { id, username, password } = await server.createUser()
      const key = await obtainKey(server.url, { username, password })
      const tokens = await server.db.selectFrom('api_tokens').selectAll().where('user_id', '=', id).execute()
      const user = await server.db.selectFrom('users').selectAll().where('id', '=', id).execute()
      expect(tokens).toHaveLength(1)
      expect(JSON.stringify([tokens, user])).not.toContain(key)
      expect(tokens[0]?.secret_hash).toMatch(/^[0-9a-f]{64}$/)
    })

    it("answers a wrong password with login's 401 and no challenge", async () => {
      const { username } = await server.createUser()
      const res = await mutation(server.url, 'auth.tokens.obtain', { username, password: 'wrong-passphrase' })
      expect(res.status).toBe(401)
      expect(res.body).toEqual(refusal('Invalid credentials', 'INVALID_CREDENTIALS', 'auth.tokens.obtain'))
      expect(res.headers.get('www-authenticate')).toBeNull()
    })
  })

  describe('DRF TokenAuthentication failures', () => {
    it('unknown key → 401 "Invalid token." with WWW-Authenticate: Token', async () => {
      for (const key of [`${'a'.repeat(24)}.${'b'.repeat(64)}`, 'nope', '0123456789abcdef0123456789abcdef01234567']) {
        const res = await query(server.url, 'content.protected', { headers: withKey(key) })
        expect(res.status).toBe(401)
        expect(res.body).toEqual(refusal('Invalid token.', 'API_TOKEN_INVALID'))
        expect(res.headers.get('www-authenticate')).toBe('Token')
      }
    })

    it('"Token" without a key → 401 "Invalid token header. No credentials provided."', async () => {
      for (const authorization of ['Token', 'Token   ', 'token']) {
        const res = await query(server.url, 'content.protected', { headers: { authorization } })
        expect(res.status).toBe(401)
        expect(res.body).toEqual(refusal('Invalid token header. No credentials provided.', 'API_TOKEN_HEADER_EMPTY'))
        expect(res.headers.get('www-authenticate')).toBe('Token')
      }
    })

    it('"Token a b" → 401 "Invalid token header. Token string should not contain spaces."', async () => {
      const res = await query(server.url, 'content.protected', { headers: { authorization: 'Token a b' } })
      expect(res.status).toBe(401)
      expect(res.body).toEqual(
        refusal('Invalid token header. Token string should not contain spaces.', 'API_TOKEN_HEADER_SPACES'),
      )
      expect(res.headers.get('www-authenticate')).toBe('Token')
    })

    it('a deactivated user\'s key → 401 "User inactive or deleted." at the next request', async () => {
      const { id, username, password } = await server.createUser()
      const key = await obtainKey(server.url, { username, password })
      expect((await query(server.url, 'content.protected', { headers: withKey(key) })).status).toBe(200)
      await server.db.updateTable('users').set({ is_active: false }).where('id', '=', id).execute()
      await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
      const res = await query(server.url, 'content.protected', { headers: withKey(key) })
      expect(res.status).toBe(401)
      expect(res.body).toEqual(refusal('User inactive or deleted.', 'API_TOKEN_USER_INACTIVE'))
      expect(res.headers.get('www-authenticate')).toBe('Token')
    })

    it('an expired key → 401 "Invalid token."', async () => {
      const { username, password } = await server.createUser()
      const login = await mutation(server.url, 'auth.login', { username, password })
      const created = await mutation(server.url, 'auth.tokens.create', { name: 'soon' }, login.body.result.data.access)
      const { key, token } = created.body.result.data as { key: string; token: { id: string } }
      const id = token.id
      await server.db
        .updateTable('api_tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', id)
        .execute()
      const res = await query(server.url, 'content.protected', { headers: withKey(key) })
      expect(res.status).toBe(401)
      expect(res.body).toEqual(refusal('Invalid token.', 'API_TOKEN_INVALID'))
      expect(res.headers.get('www-authenticate')).toBe('Token')
    })

    it('a Bearer failure keeps its own challenge', async () => {
      const res = await query(server.url, 'content.protected', { headers: { authorization: 'Bearer not.a.jwt' } })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    })

    it('never lets a bad key through as anonymous, even where anonymous callers are welcome', async () => {
      const res = await query(server.url, 'articles.list', { headers: withKey('nope') })
      expect(res.status).toBe(401)
      expect(res.body).toEqual(refusal('Invalid token.', 'API_TOKEN_INVALID', 'articles.list'))
      expect((await query(server.url, 'articles.list')).status).toBe(200)
    })
  })

  describe('auth.tokens.create / list / revoke / revokeAll', () => {
    it('creates named keys, shows each key once, and stores only a hash', async () => {
      const { username, password } = await server.createUser()
      const login = await mutation(server.url, 'auth.login', { username, password })
      const access = login.body.result.data.access as string
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString()
      const created = await mutation(server.url, 'auth.tokens.create', { name: ' deploy ', expiresAt }, access)
      expect(created.status).toBe(200)
      const { key, token } = created.body.result.data as { key: string; token: Record<string, unknown> }
      const [id, secret] = key.split('.') as [string, string]
      expect(token).toEqual({ id, name: 'deploy', createdAt: expect.any(String), expiresAt, lastUsedAt: null })

      const rows = await server.db.selectFrom('api_tokens').selectAll().where('id', '=', id).execute()
      expect(rows).toHaveLength(1)
      expect(JSON.stringify(rows)).not.toContain(secret)
      expect(rows[0]?.secret_hash).toMatch(/^[0-9a-f]{64}$/)

      // The new key works, and the list never shows a key again.
      const listed = await query(server.url, 'auth.tokens.list', { headers: withKey(key) })
      expect(listed.status).toBe(200)
      expect(listed.body.result.data.items).toEqual([{ ...token, lastUsedAt: expect.any(String) }])
      expect(JSON.stringify(listed.body)).not.toContain(secret)
    })

    it('refuses a blank name, an unknown field and a bad or past expiry', async () => {
      const { username, password } = await server.createUser()
      const key = await obtainKey(server.url, { username, password })
      const create = (input: unknown) =>
        tokenMutation(server.url, 'auth.tokens.create', { input, authorization: `Token ${key}` })
      const blank = await create({ name: '  ' })
      expect(blank.status).toBe(400)
      expect(blank.body.error.data.fieldErrors).toEqual({ name: ['This field may not be blank.'] })
      expect((await create({ name: 'x', key: 'mine' })).body.error.data.fieldErrors).toEqual({
        key: ['Unrecognized field.'],
      })
      const badDate = await create({ name: 'x', expiresAt: 'tomorrow' })
      expect(badDate.status).toBe(400)
      expect(Object.keys(badDate.body.error.data.fieldErrors)).toEqual(['expiresAt'])
      const past = await create({ name: 'x', expiresAt: '2000-01-01T00:00:00Z' })
      expect(past.status).toBe(400)
      expect(past.body.error.data.fieldErrors).toEqual({ expiresAt: ['Ensure this date is in the future.'] })
    })

    it('needs an authenticated caller', async () => {
      const res = await mutation(server.url, 'auth.tokens.create', { name: 'x' })
      expect(res.status).toBe(401)
      expect(res.body.error.message).toBe('Authentication credentials were not provided.')
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    })

    it("revokes one key (only the owner's), then all of them", async () => {
      const alice = await server.createUser()
      const bob = await server.createUser()
      const aliceKey = await obtainKey(server.url, alice)
      const bobKey = await obtainKey(server.url, bob)
      const auth = `Token ${aliceKey}`
      const extra = (
        await tokenMutation(server.url, 'auth.tokens.create', { input: { name: 'extra' }, authorization: auth })
      ).body.result.data as { key: string; token: { id: string } }

      // Bob cannot revoke Alice's key: it is not found, as a missing one is.
      const foreign = await tokenMutation(server.url, 'auth.tokens.revoke', {
        input: { id: extra.token.id },
        authorization: `Token ${bobKey}`,
      })
      expect(foreign.status).toBe(404)
      expect(foreign.body.error.data.reason).toBe('NOT_FOUND')

      const revoked = await tokenMutation(server.url, 'auth.tokens.revoke', {
        input: { id: extra.token.id },
        authorization: auth,
      })
      expect(revoked.body).toEqual({ result: { data: { detail: 'Token revoked.' } } })
      expect((await query(server.url, 'content.protected', { headers: withKey(extra.key) })).status).toBe(401)
      expect((await query(server.url, 'content.protected', { headers: withKey(aliceKey) })).status).toBe(200)

      const all = await tokenMutation(server.url, 'auth.tokens.revokeAll', { authorization: auth })
      expect(all.body).toEqual({ result: { data: { detail: 'Tokens revoked.', revoked: 1 } } })
      const after = await query(server.url, 'content.protected', { headers: withKey(aliceKey) })
      expect(after.status).toBe(401)
      expect(after.body.error.message).toBe('Invalid token.')
      expect((await query(server.url, 'content.protected', { headers: withKey(bobKey) })).status).toBe(200)
    })
  })

  describe('lazy authentication', () => {
    it('a request without a credential of a configured scheme does no token work', async () => {
      const apiToken = vi.spyOn(server.auth, 'authenticateApiToken')
      const accessToken = vi.spyOn(server.auth, 'authenticateAccessToken')
      for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }] as Record<string, string>[]) {
        expect((await query(server.url, 'content.protected', { headers })).status).toBe(401)
        expect((await query(server.url, 'auth.catalogue', { headers })).status).toBe(200)
      }
      expect(apiToken).not.toHaveBeenCalled()
      expect(accessToken).not.toHaveBeenCalled()
    })

    it('a Token credential counts the caller as its user for throttling', async () => {
      const { id, username, password } = await server.createUser()
      const key = await obtainKey(server.url, { username, password })
      await query(server.url, 'auth.catalogue', { headers: withKey(key) })
      const counters = await server.db
        .selectFrom('throttle_counters')
        .select('key')
        .where('key', '=', `user:${id}`)
        .execute()
      expect(counters).toHaveLength(1)
    })
  })
})
