/**
 * Sliding tokens over HTTP (simplejwt's SlidingToken): auth.sliding.obtain, refresh and logout,
 * and the token used as `Authorization: Bearer`.
 */
import { signToken } from '@gatehouse/auth'
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { startTestServer } from '../src/testing.js'
import { errorBody, login, mutation, obtainSliding, query } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

function unauthorized(path: string, message: string, reason: string) {
  return errorBody({ message, code: 'UNAUTHORIZED', httpStatus: 401, path, reason })
}

describe(`${TEST_BACKEND}: sliding tokens over HTTP`, () => {
  const server = sharedServer({ SLIDING_TOKEN_LIFETIME: '10m', SLIDING_TOKEN_REFRESH_LIFETIME: '2h' })

  it('obtain answers {token}: a sliding JWT with refresh_exp and epoch that authenticates as Bearer', async () => {
    const u = await server.createUser()
    const res = await mutation(server.url, 'auth.sliding.obtain', { username: u.username, password: u.password })
    expect(res.status).toBe(200)
    expect(Object.keys(res.body.result.data)).toEqual(['token'])
    const token = res.body.result.data.token as string
    const claims = claimsOf(token)
    expect(claims).toMatchObject({ token_type: 'sliding', sub: String(u.id), epoch: 0 })
    expect(claims['exp']).toBe((claims['iat'] as number) + 600)
    expect(claims['refresh_exp']).toBe((claims['iat'] as number) + 7200)
    const me = await query(server.url, 'auth.me', { token })
    expect(me.status).toBe(200)
    expect(me.body.result.data.user).toMatchObject({ id: u.id, username: u.username })
    const verified = await mutation(server.url, 'auth.verify', { token })
    expect(verified.body).toEqual({ result: { data: { valid: true, tokenType: 'sliding', exp: claims['exp'] } } })
  })

  it('refresh keeps the jti and refresh_exp; logout blacklists the whole chain', async () => {
    const u = await server.createUser()
    const token = await obtainSliding(server.url, u)
    const res = await mutation(server.url, 'auth.sliding.refresh', { token })
    expect(res.status).toBe(200)
    const refreshed = res.body.result.data.token as string
    const [before, after] = [claimsOf(token), claimsOf(refreshed)]
    expect(after).toMatchObject({
      jti: before['jti'],
      refresh_exp: before['refresh_exp'],
      token_type: 'sliding',
      epoch: 0,
    })
    expect((await query(server.url, 'auth.me', { token: refreshed })).status).toBe(200)

    const out = await mutation(server.url, 'auth.sliding.logout', { token })
    expect(out.status).toBe(200)
    expect(out.body).toEqual({ result: { data: { detail: 'Successfully logged out.' } } })
    expect((await mutation(server.url, 'auth.sliding.logout', { token })).status).toBe(200) // idempotent
    for (const t of [token, refreshed]) {
      const me = await query(server.url, 'auth.me', { token: t })
      expect(me.status).toBe(401)
      expect(me.body).toEqual(unauthorized('auth.me', 'Token is blacklisted', 'TOKEN_BLACKLISTED'))
      expect(me.headers.get('www-authenticate')).toBe('Bearer realm="api"')
      const again = await mutation(server.url, 'auth.sliding.refresh', { token: t })
      expect(again.body).toEqual(unauthorized('auth.sliding.refresh', 'Token is blacklisted', 'TOKEN_BLACKLISTED'))
    }
  })

  it('wrong token types are refused both ways', async () => {
    const u = await server.createUser()
    const sliding = await obtainSliding(server.url, u)
    const pair = await login(server.url, u)
    for (const other of [pair.access, pair.refresh]) {
      const res = await mutation(server.url, 'auth.sliding.refresh', { token: other })
      expect(res.status).toBe(401)
      expect(res.body).toEqual(unauthorized('auth.sliding.refresh', 'Token has wrong type', 'TOKEN_WRONG_TYPE'))
    }
    const res = await mutation(server.url, 'auth.refresh', { refresh: sliding })
    expect(res.body).toEqual(unauthorized('auth.refresh', 'Token has wrong type', 'TOKEN_WRONG_TYPE'))
    // A refresh token is no Bearer credential.
    const me = await query(server.url, 'auth.me', { token: pair.refresh })
    expect(me.body).toEqual(unauthorized('auth.me', 'Token has wrong type', 'TOKEN_WRONG_TYPE'))
  })

  it('refuses a sliding token signed with our key but never issued (no outstanding row)', async () => {
    const u = await server.createUser()
    const forged = await signToken(
      { userId: u.id, tokenType: 'sliding', epoch: 0, refreshExpiresAt: new Date(Date.now() + 86_400_000) },
      { keys: server.auth.keys, clock: () => new Date(), lifetimeSeconds: 600, issuer: server.auth.tokens.issuer },
    )
    const res = await mutation(server.url, 'auth.sliding.refresh', { token: forged.token })
    expect(res.body).toEqual(unauthorized('auth.sliding.refresh', 'Token is invalid or expired', 'TOKEN_INVALID'))
    // Tampering with refresh_exp breaks the signature.
    const token = await obtainSliding(server.url, u)
    const [header, , signature] = token.split('.') as [string, string, string]
    const payload = { ...claimsOf(token), refresh_exp: 9_999_999_999 }
    const tampered = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`
    const bad = await mutation(server.url, 'auth.sliding.refresh', { token: tampered })
    expect(bad.body).toEqual(unauthorized('auth.sliding.refresh', 'Token is invalid or expired', 'TOKEN_INVALID'))
  })

  it('refuses missing and unknown fields like every procedure', async () => {
    const res = await mutation(server.url, 'auth.sliding.refresh', {})
    expect(res.status).toBe(400)
    expect(res.body.error.data.fieldErrors).toEqual({ token: ['This field is required.'] })
  })
})

describe(`${TEST_BACKEND}: sliding token obtain and lifetimes`, () => {
  it("refuses a wrong password with login's 401, and counts it against login's brute-force limit", async () => {
    // Its own server: the failures also count against the test client's address.
    await using server = await startTestServer({ THROTTLE_LOGIN_FAILURES: '3/15m' })
    const u = await server.createUser()
    for (let i = 0; i < 3; i++) {
      const res = await mutation(server.url, 'auth.sliding.obtain', {
        username: u.username,
        password: 'wrong-passphrase',
      })
      expect(res.status).toBe(401)
      expect(res.body).toEqual(unauthorized('auth.sliding.obtain', 'Invalid credentials', 'INVALID_CREDENTIALS'))
      expect(res.headers.get('www-authenticate')).toBeNull()
    }
    const right = await mutation(server.url, 'auth.sliding.obtain', { username: u.username, password: u.password })
    expect(right.status).toBe(429)
    expect(right.body.error.data.reason).toBe('THROTTLED')
    // The same counters as auth.login: login is refused too.
    expect((await mutation(server.url, 'auth.login', { username: u.username, password: u.password })).status).toBe(429)
  })

  it('refresh before exp slides; past exp it is TOKEN_EXPIRED; past refresh_exp TOKEN_REFRESH_EXPIRED', async () => {
    let now = new Date('2026-05-01T12:00:00Z')
    const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000))
    await using server = await startTestServer(
      { SLIDING_TOKEN_LIFETIME: '10m', SLIDING_TOKEN_REFRESH_LIFETIME: '30m' },
      { clock: () => now },
    )
    const first = await obtainSliding(server.url, await server.createUser())
    let token = first
    for (const step of [9 * 60, 9 * 60, 9 * 60]) {
      advance(step)
      const res = await mutation(server.url, 'auth.sliding.refresh', { token })
      expect(res.status).toBe(200)
      token = res.body.result.data.token as string
      expect((await query(server.url, 'auth.me', { token })).status).toBe(200)
    }
    // 27 minutes in: the last token lives until 37, but refresh_exp (30) ends the chain.
    advance(3 * 60)
    expect((await query(server.url, 'auth.me', { token })).status).toBe(200)
    const over = await mutation(server.url, 'auth.sliding.refresh', { token })
    expect(over.status).toBe(401)
    expect(over.body).toEqual(
      unauthorized('auth.sliding.refresh', "Token 'refresh_exp' claim has expired", 'TOKEN_REFRESH_EXPIRED'),
    )
    // Past both exp and refresh_exp, exp is checked first, as simplejwt's decode does.
    const stale = await mutation(server.url, 'auth.sliding.refresh', { token: first })
    expect(stale.body).toEqual(unauthorized('auth.sliding.refresh', 'Token is invalid or expired', 'TOKEN_EXPIRED'))
  })

  it('attack: a sliding token past its exp cannot be refreshed, however far refresh_exp is', async () => {
    let now = new Date('2026-05-01T12:00:00Z')
    await using server = await startTestServer({}, { clock: () => now })
    // Defaults: 5 minutes of life, 7 days of refresh_exp. Found in a log an hour later:
    const leaked = await obtainSliding(server.url, await server.createUser())
    now = new Date(now.getTime() + 60 * 60 * 1000)
    const me = await query(server.url, 'auth.me', { token: leaked })
    expect(me.body).toEqual(unauthorized('auth.me', 'Token is invalid or expired', 'TOKEN_EXPIRED'))
    const revived = await mutation(server.url, 'auth.sliding.refresh', { token: leaked })
    expect(revived.status).toBe(401)
    expect(revived.body).toEqual(unauthorized('auth.sliding.refresh', 'Token is invalid or expired', 'TOKEN_EXPIRED'))
    expect(revived.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    // Its holder may still end it: logout accepts it until refresh_exp, and revives nothing.
    const out = await mutation(server.url, 'auth.sliding.logout', { token: leaked })
    expect(out.body).toEqual({ result: { data: { detail: 'Successfully logged out.' } } })
    now = new Date(now.getTime() + 7 * 24 * 60 * 60 * 1000)
    const late = await mutation(server.url, 'auth.sliding.logout', { token: leaked })
    expect(late.body).toEqual(
      unauthorized('auth.sliding.logout', "Token 'refresh_exp' claim has expired", 'TOKEN_REFRESH_EXPIRED'),
    )
  })
})
