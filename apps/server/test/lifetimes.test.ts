import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { startTestServer } from '../src/testing.js'
import { mutation, query, wire } from './helpers/http.js'

describe(`${TEST_BACKEND}: token lifetimes and algorithms`, () => {
  it('an expired access token is refused with TOKEN_EXPIRED; the refresh token still works', async () => {
    let now = new Date('2026-03-01T12:00:00Z')
    await using server = await startTestServer({ ACCESS_TOKEN_LIFETIME: '2s' }, { clock: () => now })
    const u = await server.createUser()
    const { access, refresh } = (await mutation(server.url, 'auth.login', { username: u.username, password: u.password })).body.result.data
    expect((await query(server.url, 'auth.me', { token: access })).status).toBe(200)
    now = new Date(now.getTime() + 2_000) // exp = iat + lifetime, and a token is dead at its exp
    const expired = await query(server.url, 'auth.me', { token: access })
    expect(expired.status).toBe(401)
    expect(expired.body.error).toMatchObject({ message: 'Token is invalid or expired', data: { reason: 'TOKEN_EXPIRED' } })
    const renewed = await mutation(server.url, 'auth.refresh', { refresh })
    expect(renewed.status).toBe(200)
    expect((await query(server.url, 'auth.me', { token: renewed.body.result.data.access })).status).toBe(200)
  })

  it('an expired refresh token cannot be rotated', async () => {
    let now = new Date('2026-03-01T12:00:00Z')
    await using server = await startTestServer({ REFRESH_TOKEN_LIFETIME: '1s' }, { clock: () => now })
    const u = await server.createUser()
    const { refresh } = (await mutation(server.url, 'auth.login', { username: u.username, password: u.password })).body.result.data
    now = new Date(now.getTime() + 1_000)
    const res = await mutation(server.url, 'auth.refresh', { refresh })
    expect(res.status).toBe(401)
    expect(res.body.error.data.reason).toBe('TOKEN_EXPIRED')
  })

  it('HS256 with JWT_SECRET works and publishes no keys', async () => {
    await using server = await startTestServer({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 's'.repeat(40) })
    const u = await server.createUser()
    const { access } = (await mutation(server.url, 'auth.login', { username: u.username, password: u.password })).body.result.data
    const header = JSON.parse(Buffer.from(access.split('.')[0], 'base64url').toString())
    expect(header.alg).toBe('HS256')
    expect((await query(server.url, 'auth.me', { token: access })).status).toBe(200)
    expect((await wire(`${server.url}/.well-known/jwks.json`)).body).toEqual({ keys: [] })
  })

  it('checks issuer and audience when configured', async () => {
    await using server = await startTestServer({ JWT_ISSUER: 'https://gatehouse.test', JWT_AUDIENCE: 'api' })
    const u = await server.createUser()
    const { access } = (await mutation(server.url, 'auth.login', { username: u.username, password: u.password })).body.result.data
    const claims = JSON.parse(Buffer.from(access.split('.')[1], 'base64url').toString())
    expect(claims).toMatchObject({ iss: 'https://gatehouse.test', aud: 'api' })
    expect((await query(server.url, 'auth.me', { token: access })).status).toBe(200)
  })

  it('keeps ROTATE_REFRESH_TOKENS=false semantics: same refresh token, new access token', async () => {
    await using server = await startTestServer({ ROTATE_REFRESH_TOKENS: 'false' })
    const u = await server.createUser()
    const { refresh } = (await mutation(server.url, 'auth.login', { username: u.username, password: u.password })).body.result.data
    const a = await mutation(server.url, 'auth.refresh', { refresh })
    const b = await mutation(server.url, 'auth.refresh', { refresh })
    expect([a.status, b.status]).toEqual([200, 200])
    expect(a.body.result.data.refresh).toBe(refresh)
  })

  it('a token signed by another server (another key) is refused', async () => {
    await using one = await startTestServer()
    await using two = await startTestServer()
    const u = await one.createUser()
    const { access } = (await mutation(one.url, 'auth.login', { username: u.username, password: u.password })).body.result.data
    const res = await query(two.url, 'auth.me', { token: access })
    expect(res.status).toBe(401)
    expect(res.body.error.data.reason).toBe('TOKEN_INVALID')
  })

  it('batches several calls in one request (?batch=1)', async () => {
    await using server = await startTestServer()
    const u = await server.createUser()
    const { access } = (await mutation(server.url, 'auth.login', { username: u.username, password: u.password })).body.result.data
    const res = await wire(`${server.url}/trpc/auth.me,content.protected?batch=1&input=${encodeURIComponent('{}')}`, {
      headers: { authorization: `Bearer ${access}` },
    })
    expect(res.status).toBe(200)
    expect(res.body).toHaveLength(2)
    expect(res.body[1]).toEqual({ result: { data: { message: 'This is a protected view' } } })
  })
})
