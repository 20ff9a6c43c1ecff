/**
 * @see issue 16, item 12: a bad credential on a public procedure was silently anonymous. DRF
 * authenticates every request before it checks permissions, so an AllowAny view answers 401
 * `Invalid token.` to a bad `Authorization` header. simplejwt's token views run no authentication
 * at all, so a stale header never stops a refresh: their twins here do the same.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { errorBody, login, obtainSliding, query, wire } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

describe(`${TEST_BACKEND}: credentials on public procedures`, () => {
  const server = sharedServer()
  let user: { id: number; username: string; password: string }
  beforeAll(async () => {
    user = await server.createUser()
  })

  const post = (path: string, body: unknown, authorization: string) =>
    wire(`${server.url}/trpc/${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', authorization },
    })

  it('attack: a garbage Bearer token on auth.login is 401 TOKEN_INVALID, not an anonymous login', async () => {
    const res = await post('auth.login', { username: user.username, password: user.password }, 'Bearer not.a.jwt')
    expect([res.status, res.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="api"'])
    expect(res.body).toEqual(
      errorBody({
        message: 'Token is invalid or expired',
        code: 'UNAUTHORIZED',
        httpStatus: 401,
        path: 'auth.login',
        reason: 'TOKEN_INVALID',
      }),
    )
  })

  it('answers a bad API key on a public query with DRF’s `Invalid token.`', async () => {
    const res = await wire(`${server.url}/trpc/auth.catalogue`, { headers: { authorization: 'Token nope' } })
    expect([res.status, res.headers.get('www-authenticate')]).toEqual([401, 'Token'])
    expect(res.body.error).toMatchObject({ message: 'Invalid token.', data: { reason: 'API_TOKEN_INVALID' } })
    const good = await query(server.url, 'auth.catalogue')
    expect(good.status).toBe(200)
  })

  it('answers a malformed header on auth.register with its 401', async () => {
    const res = await post('auth.register', { username: 'newcomer', password: 'Tr1cky-passphrase' }, 'Bearer a b')
    expect(res.status).toBe(401)
    expect(res.body.error.data.reason).toBe('AUTH_HEADER_INVALID')
    expect((await query(server.url, 'auth.catalogue')).status).toBe(200)
  })

  it('runs no authentication on the token views: a stale header never stops refresh or verify', async () => {
    const pair = await login(server.url, user)
    for (const [path, body] of [
      ['auth.verify', { token: pair.access }],
      ['auth.refresh', { refresh: pair.refresh }],
    ] as const) {
      expect((await post(path, body, 'Bearer not.a.jwt')).status, path).toBe(200)
    }
    const sliding = await obtainSliding(server.url, user)
    expect((await post('auth.sliding.refresh', { token: sliding }, 'Bearer not.a.jwt')).status).toBe(200)
    expect((await post('auth.sliding.logout', { token: sliding }, 'Bearer not.a.jwt')).status).toBe(200)
  })

  it('lets a good credential through a public procedure as before', async () => {
    const pair = await login(server.url, user)
    const res = await post('auth.login', { username: user.username, password: user.password }, `Bearer ${pair.access}`)
    expect(res.status).toBe(200)
  })
})
