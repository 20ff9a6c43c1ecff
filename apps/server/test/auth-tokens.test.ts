/**
 * The refresh token over HTTP: rotation with blacklisting, logout, auth.verify; and the service
 * endpoints beside them (/healthz, the public signing keys).
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { login, mutation, query, wire } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const CHALLENGE = 'Bearer realm="api"'

describe(`${TEST_BACKEND}: auth procedures over HTTP: refresh, logout and verify`, () => {
  const server = sharedServer()

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
