/**
 * Gatehouse's JWTs as another service sees them. A careful downstream service fetches
 * /.well-known/jwks.json and verifies with jose, pinning the header `typ` to simplejwt's `JWT` and
 * the issuer (RFC 8725, 3.11 and 3.12): an access token passes; a refresh or sliding token must
 * not, although the same keys signed it. Every token carries `iss`, the server's URL unless
 * JWT_ISSUER says otherwise, and a header `typ` of its own type.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'

import type { TestServer } from '../src/testing.js'
import { startTestServer } from '../src/testing.js'
import { login, mutation, obtainSliding, query } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

async function tokensOf(server: TestServer) {
  const u = await server.createUser()
  const pair = await login(server.url, u)
  const sliding = await obtainSliding(server.url, u)
  return { ...u, ...pair, sliding }
}

/** What the downstream service does with a token it is handed as a Bearer credential. */
function downstream(server: TestServer, issuer: string) {
  const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`))
  return async (token: string) => {
    try {
      const { payload } = await jwtVerify(token, jwks, { typ: 'JWT', issuer })
      return `accepted ${String(payload['token_type'])}`
    } catch (error) {
      const { code, claim } = error as { code?: string; claim?: string }
      return `refused ${code ?? '?'} ${claim ?? ''}`.trim()
    }
  }
}

describe(`${TEST_BACKEND}: tokens as a downstream service verifies them`, () => {
  const server = sharedServer()

  it('should set iss to the server’s URL by default, and a header typ per token type', async () => {
    const t = await tokensOf(server)
    for (const token of [t.access, t.refresh, t.sliding]) expect(decodeJwt(token).iss).toBe(server.url)
    expect([t.access, t.refresh, t.sliding].map((token) => decodeProtectedHeader(token).typ)).toEqual([
      'JWT',
      'refresh+jwt',
      'sliding+jwt',
    ])
  })

  it('attack: a downstream verifier pinning typ JWT and the issuer accepts an access token, never a refresh or sliding token', async () => {
    const t = await tokensOf(server)
    const verify = downstream(server, server.url)
    expect(await verify(t.access)).toBe('accepted access')
    expect(await verify(t.refresh)).toBe('refused ERR_JWT_CLAIM_VALIDATION_FAILED typ')
    expect(await verify(t.sliding)).toBe('refused ERR_JWT_CLAIM_VALIDATION_FAILED typ')
  })

  it('should tell its own token types apart as Bearer credentials, as before', async () => {
    const t = await tokensOf(server)
    expect((await query(server.url, 'auth.me', { token: t.access })).status).toBe(200)
    expect((await query(server.url, 'auth.me', { token: t.sliding })).status).toBe(200) // simplejwt's AUTH_TOKEN_CLASSES
    const refresh = await query(server.url, 'auth.me', { token: t.refresh })
    expect([refresh.status, refresh.body.error.data.reason]).toEqual([401, 'TOKEN_WRONG_TYPE'])
    const access = await mutation(server.url, 'auth.refresh', { refresh: t.access })
    expect([access.status, access.body.error.data.reason]).toEqual([401, 'TOKEN_WRONG_TYPE'])
  })

  it('refuses a token from before the upgrade (no iss, every type typ JWT): its user logs in again', async () => {
    const t = await tokensOf(server)
    const { kid, key } = await server.auth.keys.currentSigningKey()
    const legacy = (claims: Record<string, unknown>) =>
      new SignJWT({ token_type: 'access', epoch: 0, ...claims })
        .setProtectedHeader({ alg: server.auth.keys.algorithm, typ: 'JWT', kid })
        .setSubject(String(t.id))
        .setJti(crypto.randomUUID().replaceAll('-', ''))
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key)
    const me = await query(server.url, 'auth.me', { token: await legacy({}) })
    expect([me.status, me.body.error.data.reason]).toEqual([401, 'TOKEN_INVALID'])
    const oldRefresh = await legacy({ token_type: 'refresh', epoch: undefined })
    await server.db
      .insertInto('outstanding_tokens')
      .values({
        jti: decodeJwt(oldRefresh).jti!,
        user_id: t.id,
        family_id: 'f'.repeat(32),
        token_type: 'refresh',
        expires_at: new Date(Date.now() + 300_000),
      })
      .execute()
    const refreshed = await mutation(server.url, 'auth.refresh', { refresh: oldRefresh })
    expect([refreshed.status, refreshed.body.error.data.reason]).toEqual([401, 'TOKEN_INVALID'])
  })
})

describe(`${TEST_BACKEND}: JWT_ISSUER`, () => {
  it('should replace the server’s URL as the issuer, for every token type', async () => {
    await using server = await startTestServer({ JWT_ISSUER: 'https://auth.example.com' })
    const t = await tokensOf(server)
    for (const token of [t.access, t.refresh, t.sliding]) expect(decodeJwt(token).iss).toBe('https://auth.example.com')
    expect(await downstream(server, 'https://auth.example.com')(t.access)).toBe('accepted access')
    expect(await downstream(server, server.url)(t.access)).toBe('refused ERR_JWT_CLAIM_VALIDATION_FAILED iss')
    expect((await query(server.url, 'auth.me', { token: t.access })).status).toBe(200)
  })
})
