import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { TestDatabase } from '@gatehouse/db/testing'
import type { AuthUser } from '../users/user.js'
import type { AuthRequest } from './authenticator.js'
import { AuthError } from '../errors.js'
import { KeyRing } from '../jwt/keys.js'
import { signToken } from '../jwt/sign.js'
import { verifyToken } from '../jwt/verify.js'
import { oauthPayloadId } from '../tokens/oauth-payload-id.js'
import { oauthPrincipalLoader } from '../tokens/oauth-principal.js'
import { SecretBox } from '../crypto/secret-box.js'
import { TEST_SECRET_KEY } from '../testing.js'
import { bearerAuthenticator } from './bearer.js'
import { isOAuthAccessToken, oauthAuthenticator, verifyOAuthToken } from './oauth.js'

const TEST_SECRETS = new SecretBox({ secretKey: TEST_SECRET_KEY })

const T0 = new Date('2026-01-01T00:00:00Z')
const at = (seconds: number) => () => new Date(T0.getTime() + seconds * 1000)
const settings = { issuer: 'http://127.0.0.1:9/oauth', resource: 'urn:gatehouse:api' }
const request = (token: string): AuthRequest => ({
  authorization: `Bearer ${token}`,
  headers: { authorization: `Bearer ${token}` },
})

describe(`${TEST_BACKEND}: the oauth authenticator`, () => {
  let t: TestDatabase
  let keys: KeyRing
  let alice: number
  let service: number
  beforeAll(async () => {
    t = await createTestDb()
    keys = new KeyRing({ secrets: TEST_SECRETS, db: t.db, algorithm: 'EdDSA' })
    await keys.init()
    const insert = (username: string, isActive = true) =>
      t.db
        .insertInto('users')
        .values({ username, password: '!', is_active: isActive })
        .returning('id')
        .executeTakeFirstOrThrow()
    alice = (await insert('alice')).id
    service = (await insert('client:svc')).id
    const bob = (await insert('bob', false)).id
    await t.db
      .insertInto('oauth_clients')
      .values({ id: 'svc', name: 'Service', secret_hash: 'x'.repeat(64), service_user_id: service })
      .execute()
    await t.db.insertInto('oauth_clients').values({ id: 'app', name: 'App', public: true }).execute()
    const expires = new Date(T0.getTime() + 3_600_000)
    const row = (id: string, model: string, payload: Record<string, unknown>) => ({
      model,
      id: oauthPayloadId(model, id),
      payload: JSON.stringify(payload),
      grant_id: model === 'AccessToken' ? 'g1' : null,
      expires_at: expires,
    })
    await t.db
      .insertInto('oauth_payloads')
      .values([
        row('jti-alice', 'AccessToken', { accountId: String(alice), clientId: 'app', grantId: 'g1' }),
        row('jti-bob', 'AccessToken', { accountId: String(bob), clientId: 'app', grantId: 'g1' }),
        row('jti-svc', 'ClientCredentials', { clientId: 'svc' }),
        row('jti-ghost', 'ClientCredentials', { clientId: 'ghost' }),
      ] as never)
      .execute()
  })
  afterAll(() => t[Symbol.asyncDispose]())

  /** An RFC 9068 token as the authorization server signs it; `claims` replace or add claims. */
  async function sign(
    claims: Record<string, unknown> = {},
    header: { typ?: string; alg?: string } = {},
  ): Promise<string> {
    const key = keys.signingKey()
    const iat = Math.floor(T0.getTime() / 1000)
    const payload = {
      iss: settings.issuer,
      aud: settings.resource,
      iat,
      exp: iat + 3600,
      client_id: 'app',
      sub: String(alice),
      scope: 'read openid',
      jti: 'jti-alice',
      ...claims,
    }
    return new SignJWT(payload)
      .setProtectedHeader({ alg: header.alg ?? 'EdDSA', kid: key.kid, typ: header.typ ?? 'at+jwt' })
      .sign(key.key)
  }

  const authenticator = () =>
    oauthAuthenticator({
      keys,
      clock: at(10),
      settings: () => settings,
      loadPrincipal: oauthPrincipalLoader(t.db, at(10)),
    })
  const authenticate = async (token: string) => authenticator().authenticate(request(token))
  const refusal = (token: string) =>
    authenticate(token).then(
      () => 'accepted',
      (e: unknown) => (e instanceof AuthError ? e.code : String(e)),
    )

  it('accepts a live token and puts its client and scopes on the user', async () => {
    const user = (await authenticate(await sign())) as AuthUser
    expect(user).toMatchObject({
      id: alice,
      username: 'alice',
      oauth: { clientId: 'app', scopes: ['read', 'openid'], jti: 'jti-alice' },
    })
  })

  it('a client-credentials token acts as the client service user', async () => {
    const user = await authenticate(await sign({ sub: 'svc', client_id: 'svc', jti: 'jti-svc', scope: 'read write' }))
    expect(user).toMatchObject({
      id: service,
      username: 'client:svc',
      oauth: { clientId: 'svc', scopes: ['read', 'write'] },
    })
  })

  it('routes by header typ: bearer answers null for at+jwt, oauth answers null for our own tokens', async () => {
    const oauthToken = await sign()
    const own = (await signToken({ userId: alice, tokenType: 'access' }, { keys, clock: at(0), lifetimeSeconds: 300 }))
      .token
    const verified: string[] = []
    const bearer = bearerAuthenticator({
      verify: (token) => {
        verified.push(token)
        return Promise.reject(new AuthError('TOKEN_INVALID'))
      },
    })
    expect(await bearer.authenticate(request(oauthToken))).toBeNull()
    expect(bearer.hasCredential?.(request(oauthToken))).toBe(false)
    expect(verified).toEqual([])
    expect(await authenticator().authenticate(request(own))).toBeNull()
    expect(isOAuthAccessToken(request(own))).toBe(false)
    expect(isOAuthAccessToken(request(oauthToken))).toBe(true)
    expect(isOAuthAccessToken({ authorization: `Token ${oauthToken}`, headers: {} })).toBe(false)
    // Even handed straight to the other verifier, neither passes: each pins its typ.
    await expect(verifyToken(oauthToken, { keys, clock: at(10), expectedTypes: ['access'] })).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
    })
    await expect(verifyOAuthToken(own, { keys, clock: at(10), settings })).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
    })
    // Our refresh and sliding tokens have header types of their own: still not the oauth scheme's.
    for (const tokenType of ['refresh', 'sliding'] as const) {
      const ours = (await signToken({ userId: alice, tokenType }, { keys, clock: at(0), lifetimeSeconds: 300 })).token
      expect(isOAuthAccessToken(request(ours)), tokenType).toBe(false)
      expect(await authenticator().authenticate(request(ours))).toBeNull()
      await expect(verifyOAuthToken(ours, { keys, clock: at(10), settings })).rejects.toMatchObject({
        code: 'TOKEN_INVALID',
      })
    }
  })

  it('refuses the wrong issuer, audience, algorithm, expiry or shape', async () => {
    expect(await refusal(await sign({ iss: 'http://evil.example/oauth' }))).toBe('TOKEN_INVALID')
    expect(await refusal(await sign({ aud: 'urn:other:api' }))).toBe('TOKEN_INVALID')
    expect(await refusal(await sign({ exp: Math.floor(T0.getTime() / 1000) + 5 }))).toBe('TOKEN_EXPIRED')
    expect(await refusal(await sign({ client_id: undefined }))).toBe('TOKEN_INVALID')
    expect(await refusal(await sign({ scope: ['read'] }))).toBe('TOKEN_INVALID')
    // alg none, and a token signed by a key we do not hold
    const [header, payload] = (await sign()).split('.')
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`
    expect(await refusal(none)).toBe('TOKEN_INVALID')
    const [, , signature] = (await sign({ jti: 'other' })).split('.')
    expect(await refusal(`${header}.${payload}.${signature}`)).toBe('TOKEN_INVALID')
  })

  it('refuses a token the server no longer holds, one whose record disagrees, and inactive principals', async () => {
    expect(await refusal(await sign({ jti: 'jti-unknown' }))).toBe('TOKEN_REVOKED')
    expect(await refusal(await sign({ sub: '999999' }))).toBe('TOKEN_INVALID')
    expect(await refusal(await sign({ client_id: 'svc' }))).toBe('TOKEN_INVALID')
    expect(await refusal(await sign({ jti: 'jti-bob', sub: 'x' }))).toBe('TOKEN_INVALID')
    const bob = await t.db.selectFrom('users').select('id').where('username', '=', 'bob').executeTakeFirstOrThrow()
    expect(await refusal(await sign({ jti: 'jti-bob', sub: String(bob.id) }))).toBe('USER_INACTIVE')
    // a client-credentials record used with a user's subject, and a deleted client
    expect(await refusal(await sign({ jti: 'jti-svc', client_id: 'svc' }))).toBe('TOKEN_INVALID')
    expect(await refusal(await sign({ jti: 'jti-ghost', client_id: 'ghost', sub: 'ghost' }))).toBe('TOKEN_REVOKED')
    // expired records are gone for the resource side too
    const late = oauthAuthenticator({
      keys,
      clock: at(10),
      settings: () => settings,
      loadPrincipal: oauthPrincipalLoader(t.db, at(7200)),
    })
    await expect(late.authenticate(request(await sign()))).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
  })
})
