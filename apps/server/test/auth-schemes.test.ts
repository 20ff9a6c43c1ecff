/**
 * Pluggable authenticators: AUTH_SCHEMES order (DRF's DEFAULT_AUTHENTICATION_CLASSES), the
 * "first scheme that matches decides" rule, and a custom X-API-Key scheme added from outside.
 */
import type { Authenticator } from '@gatehouse/auth'
import { AuthError } from '@gatehouse/auth'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { App, AuthenticatorFactory } from '../src/index.js'
import { ConfigError, loadConfig, startApp } from '../src/index.js'
import { configErrorLines } from './helpers/config.js'
import { login, obtainKey, query } from './helpers/http.js'
import { serverPerTest } from './helpers/server.js'

describe('AUTH_SCHEMES', () => {
  it('defaults to bearer then token, plus any registered schemes', () => {
    expect(loadConfig({}).authSchemes).toBeUndefined()
    expect(loadConfig({ AUTH_SCHEMES: ' Token , bearer ' }).authSchemes).toEqual(['token', 'bearer'])
  })

  it('gives one line naming the variable for a bad list', () => {
    for (const value of ['bearer,,token', 'bearer,bearer', 'bearer token', '1x']) {
      const lines = configErrorLines({ AUTH_SCHEMES: value })
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^AUTH_SCHEMES: expected comma-separated scheme names/)
    }
  })
})

describe(`${TEST_BACKEND}: scheme order`, () => {
  const { start } = serverPerTest()
  async function serverWith(schemes: string) {
    const server = await start({ AUTH_SCHEMES: schemes })
    const user = await server.createUser()
    return {
      server,
      base: server.url,
      user,
      key: await obtainKey(server.url, user),
      access: (await login(server.url, user)).access,
    }
  }

  for (const schemes of ['bearer,token', 'token,bearer']) {
    it(`accepts either credential and names the first scheme in an anonymous 401 (${schemes})`, async () => {
      const { base, user, key, access } = await serverWith(schemes)
      const viaKey = await query(base, 'auth.me', { headers: { authorization: `Token ${key}` } })
      const viaJwt = await query(base, 'auth.me', { token: access })
      expect(viaKey.body.result.data.user.username).toBe(user.username)
      expect(viaJwt.body.result.data.user.username).toBe(user.username)
      const anonymous = await query(base, 'content.protected')
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get('www-authenticate')).toBe(
        schemes.startsWith('token') ? 'Token' : 'Bearer realm="api"',
      )
      // A failure names the scheme that failed, whatever the order.
      const badKey = await query(base, 'content.protected', { headers: { authorization: 'Token nope' } })
      expect(badKey.headers.get('www-authenticate')).toBe('Token')
      const badJwt = await query(base, 'content.protected', { token: 'not.a.jwt' })
      expect(badJwt.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    })
  }

  it('treats the credential of a scheme left out of AUTH_SCHEMES as no credential', async () => {
    const tokenOnly = await serverWith('token')
    const bearerOnly = await serverWith('bearer')
    const jwtOnTokenOnly = await query(tokenOnly.base, 'content.protected', { token: tokenOnly.access })
    expect(jwtOnTokenOnly.status).toBe(401)
    expect(jwtOnTokenOnly.body.error.message).toBe('Authentication credentials were not provided.')
    expect(jwtOnTokenOnly.headers.get('www-authenticate')).toBe('Token')
    const keyOnBearerOnly = await query(bearerOnly.base, 'content.protected', {
      headers: { authorization: `Token ${bearerOnly.key}` },
    })
    expect(keyOnBearerOnly.status).toBe(401)
    expect(keyOnBearerOnly.body.error.message).toBe('Authentication credentials were not provided.')
    expect(keyOnBearerOnly.headers.get('www-authenticate')).toBe('Bearer realm="api"')
  })
})

describe(`${TEST_BACKEND}: a custom X-API-Key scheme`, () => {
  // Everything below uses only the public extension point: no core file knows about X-API-Key.
  const keys = new Map<string, number>()
  const apiKey: AuthenticatorFactory = ({ auth }): Authenticator => ({
    scheme: 'api-key',
    challenge: 'ApiKey',
    hasCredential: (request) => request.headers['x-api-key'] !== undefined,
    async authenticate(request) {
      const presented = request.headers['x-api-key']
      if (presented === undefined) return null
      const userId = keys.get(presented)
      const user = userId === undefined ? undefined : await auth.loadUser(userId)
      if (!user?.isActive) throw new AuthError('API_TOKEN_INVALID', { message: 'Invalid API key.' })
      return user
    },
  })

  const apps: App[] = []
  const disposers: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const app of apps) await app.close()
    for (const dispose of disposers) await dispose()
  })
  async function appWith(env: Record<string, string> = {}) {
    const testDb = await createTestDb()
    disposers.push(() => testDb[Symbol.asyncDispose]())
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', PASSWORD_HASH_COST: '4', ...env })
    const app = await startApp({ config, db: testDb.db, authenticators: [apiKey] })
    apps.push(app)
    const password = 'correct horse battery staple'
    const user = await app.auth.createUser({ username: `svc${apps.length}`, password, skipValidation: true })
    const secret = `key-${apps.length}-${user.id}`
    keys.set(secret, user.id)
    return {
      app,
      base: app.url,
      user,
      secret,
      access: (await login(app.url, { username: user.username, password })).access,
    }
  }

  let plain: Awaited<ReturnType<typeof appWith>>
  beforeAll(async () => {
    plain = await appWith()
  })

  it('authenticates by X-API-Key, tried after the built-ins when AUTH_SCHEMES is unset', async () => {
    const res = await query(plain.base, 'auth.me', { headers: { 'x-api-key': plain.secret } })
    expect(res.status).toBe(200)
    expect(res.body.result.data.user.username).toBe(plain.user.username)
  })

  it('answers a bad key with its own 401 and challenge, never as anonymous', async () => {
    for (const path of ['content.protected', 'articles.list']) {
      const res = await query(plain.base, path, { headers: { 'x-api-key': 'wrong' } })
      expect(res.status).toBe(401)
      expect(res.body.error.message).toBe('Invalid API key.')
      expect(res.headers.get('www-authenticate')).toBe('ApiKey')
    }
  })

  it('counts an X-API-Key caller as its user for throttling', async () => {
    await query(plain.base, 'auth.catalogue', { headers: { 'x-api-key': plain.secret } })
    const rows = await plain.app.db
      .selectFrom('throttle_counters')
      .select('key')
      .where('key', '=', `user:${plain.user.id}`)
      .execute()
    expect(rows).toHaveLength(1)
  })

  it('lets the first scheme that sees a credential decide: a bad key before a good Bearer is a 401', async () => {
    const keyFirst = await appWith({ AUTH_SCHEMES: 'api-key,bearer' })
    const both = { 'x-api-key': 'wrong', authorization: `Bearer ${keyFirst.access}` }
    const refused = await query(keyFirst.base, 'content.protected', { headers: both })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toBe('ApiKey')

    // Bearer first: the good JWT decides and the bad key is never looked at.
    const bearerFirst = await query(plain.base, 'content.protected', {
      headers: { 'x-api-key': 'wrong', authorization: `Bearer ${plain.access}` },
    })
    expect(bearerFirst.status).toBe(200)
  })

  it('refuses to start with a scheme nobody provides, naming AUTH_SCHEMES', async () => {
    await using testDb = await createTestDb()
    const config = loadConfig({ PORT: '0', PASSWORD_HASH_COST: '4', AUTH_SCHEMES: 'bearer,oauth2' })
    const started = startApp({ config, db: testDb.db, authenticators: [apiKey] })
    await expect(started).rejects.toBeInstanceOf(ConfigError)
    await expect(started).rejects.toThrow(
      'AUTH_SCHEMES: unknown scheme "oauth2"; available: bearer, token, session, cookie, oauth, api-key',
    )
  })

  it('refuses a custom scheme that reuses a built-in name', async () => {
    await using testDb = await createTestDb()
    const config = loadConfig({ PORT: '0', PASSWORD_HASH_COST: '4' })
    const clash: AuthenticatorFactory = () => ({ scheme: 'token', authenticate: () => Promise.resolve(null) })
    await expect(startApp({ config, db: testDb.db, authenticators: [clash] })).rejects.toThrow(TypeError)
  })
})
