import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { base64url, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { TestDatabase } from '@gatehouse/db/testing'
import { SecretBox } from '../crypto/secret-box.js'
import { TEST_SECRET_KEY } from '../testing.js'
import { KeyRing } from './keys.js'
import { signToken } from './sign.js'
import { verifyToken } from './verify.js'

const TEST_SECRETS = new SecretBox({ secretKey: TEST_SECRET_KEY })

const T0 = new Date('2026-01-01T00:00:00Z')
const at = (seconds: number) => () => new Date(T0.getTime() + seconds * 1000)

describe(`${TEST_BACKEND}: JWT sign and verify`, () => {
  let t: TestDatabase
  let keys: KeyRing
  let monotonicMs = 0
  beforeAll(async () => {
    t = await createTestDb()
    // Its monotonic clock is the test's: reload bookkeeping moves when a test says, not with time.
    keys = new KeyRing({ secrets: TEST_SECRETS, db: t.db, algorithm: 'EdDSA', now: () => monotonicMs })
    await keys.init()
  })
  afterAll(() => t[Symbol.asyncDispose]())

  const sign = (type: 'access' | 'refresh' = 'access', lifetimeSeconds = 300) =>
    signToken({ userId: 7, tokenType: type }, { keys, clock: at(0), lifetimeSeconds })

  it('round-trips the DESIGN claims', async () => {
    const { token, jti } = await sign()
    const verified = await verifyToken(token, { keys, clock: at(10), expectedTypes: ['access'] })
    expect(verified).toEqual({
      userId: 7,
      jti,
      tokenType: 'access',
      issuedAt: T0,
      expiresAt: new Date(T0.getTime() + 300_000),
    })
  })

  it('expires exactly at exp, by the injected clock', async () => {
    const { token } = await sign('access', 60)
    await expect(verifyToken(token, { keys, clock: at(59), expectedTypes: ['access'] })).resolves.toBeTruthy()
    await expect(verifyToken(token, { keys, clock: at(61), expectedTypes: ['access'] })).rejects.toMatchObject({
      code: 'TOKEN_EXPIRED',
    })
  })

  it('refuses a token of the wrong type', async () => {
    const { token } = await sign('refresh')
    await expect(verifyToken(token, { keys, clock: at(1), expectedTypes: ['access'] })).rejects.toMatchObject({
      code: 'TOKEN_WRONG_TYPE',
    })
  })

  const headerOf = (token: string) =>
    JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>

  /** A token with these claims and header typ, signed with the ring's current key (as a forger with our key could not). */
  async function signedAs(claims: Record<string, unknown>, typ: string) {
    const { kid, key } = await keys.currentSigningKey()
    return new SignJWT({ sub: '7', jti: 'b'.repeat(32), iat: 0, exp: 9e9, ...claims })
      .setProtectedHeader({ alg: keys.algorithm, typ, kid })
      .sign(key)
  }

  it('gives refresh and sliding tokens a header typ of their own; access tokens keep simplejwt’s JWT', async () => {
    const typs = await Promise.all(
      (['access', 'refresh', 'sliding'] as const).map(async (tokenType) => {
        const { token } = await signToken({ userId: 7, tokenType }, { keys, clock: at(0), lifetimeSeconds: 60 })
        await expect(verifyToken(token, { keys, clock: at(1), expectedTypes: [tokenType] })).resolves.toMatchObject({
          tokenType,
        })
        return headerOf(token).typ
      }),
    )
    expect(typs).toEqual(['JWT', 'refresh+jwt', 'sliding+jwt'])
  })

  it('attack: refuses a token whose header typ is not its token_type’s', async () => {
    const cases: [string, string, 'access' | 'refresh' | 'sliding'][] = [
      ['refresh', 'JWT', 'refresh'], // a refresh token dressed as an access token
      ['sliding', 'JWT', 'sliding'],
      ['access', 'refresh+jwt', 'access'],
      ['refresh', 'sliding+jwt', 'refresh'],
      ['access', 'at+jwt', 'access'],
    ]
    for (const [tokenType, typ, expected] of cases) {
      const token = await signedAs({ token_type: tokenType }, typ)
      await expect(
        verifyToken(token, { keys, clock: at(1), expectedTypes: [expected] }),
        `${tokenType} ${typ}`,
      ).rejects.toMatchObject({
        code: 'TOKEN_INVALID',
      })
    }
    const untyped = await new SignJWT({ sub: '7', jti: 'c'.repeat(32), iat: 0, exp: 9e9, token_type: 'access' })
      .setProtectedHeader({ alg: keys.algorithm, kid: (await keys.currentSigningKey()).kid })
      .sign((await keys.currentSigningKey()).key)
    await expect(verifyToken(untyped, { keys, clock: at(1), expectedTypes: ['access'] })).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
    })
  })

  it('reads typ as RFC 7515 says: case-insensitive, with or without application/', async () => {
    for (const typ of ['application/refresh+jwt', 'Refresh+JWT']) {
      const token = await signedAs({ token_type: 'refresh' }, typ)
      await expect(verifyToken(token, { keys, clock: at(1), expectedTypes: ['refresh'] }), typ).resolves.toMatchObject({
        tokenType: 'refresh',
      })
    }
  })

  it('signs iss and refuses a token without it, or with another, where an issuer is set', async () => {
    const issuer = 'https://auth.example.com'
    const { token } = await signToken(
      { userId: 7, tokenType: 'access' },
      { keys, clock: at(0), lifetimeSeconds: 60, issuer },
    )
    await expect(verifyToken(token, { keys, clock: at(1), expectedTypes: ['access'], issuer })).resolves.toBeTruthy()
    const { token: bare } = await sign()
    for (const [bad, expected] of [
      [bare, issuer],
      [token, 'https://other.example.com'],
    ] as const) {
      await expect(
        verifyToken(bad, { keys, clock: at(1), expectedTypes: ['access'], issuer: expected }),
      ).rejects.toMatchObject({
        code: 'TOKEN_INVALID',
      })
    }
  })

  it('refuses alg none, algorithm confusion, tampering and garbage', async () => {
    const { token } = await sign()
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.`
    const tampered = `${header}.${base64url.encode(JSON.stringify({ sub: '1', jti: 'x', token_type: 'access', iat: 0, exp: 9e9 }))}.${signature}`
    // HS256 keyed with the public key: the classic confusion attack
    const publicJwk = keys.jwks().keys[0]!
    const confused = await new SignJWT({ token_type: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: publicJwk.kid! })
      .setSubject('7')
      .setJti('a'.repeat(32))
      .setIssuedAt(0)
      .setExpirationTime(9e9)
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)))
    for (const bad of [none, tampered, confused, 'not.a.jwt', '', 'a'.repeat(5000), `${header}.${payload}`]) {
      await expect(
        verifyToken(bad, { keys, clock: at(1), expectedTypes: ['access'] }),
        bad.slice(0, 30),
      ).rejects.toMatchObject({
        code: 'TOKEN_INVALID',
      })
    }
  })

  it('verifies tokens of an older key after rotation, and signs with the new one', async () => {
    const old = await sign()
    const newKid = await keys.rotate()
    const fresh = await sign()
    expect(JSON.parse(Buffer.from(fresh.token.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid)
    await expect(verifyToken(old.token, { keys, clock: at(1), expectedTypes: ['access'] })).resolves.toBeTruthy()
    expect(keys.jwks().keys).toHaveLength(2)
  })

  it('another process sees a key rotated elsewhere (unknown kid reloads from the database)', async () => {
    const other = new KeyRing({ secrets: TEST_SECRETS, db: t.db, algorithm: 'EdDSA' })
    await other.init()
    await other.rotate()
    const token = (
      await signToken({ userId: 1, tokenType: 'access' }, { keys: other, clock: at(0), lifetimeSeconds: 60 })
    ).token
    // `keys` loaded before that rotation; it reloads once for the unknown kid, at most every 5 s
    monotonicMs += 5_100
    await expect(verifyToken(token, { keys, clock: at(1), expectedTypes: ['access'] })).resolves.toBeTruthy()
  })

  it('creates exactly one first key when several processes start at once', async () => {
    await using fresh = await createTestDb()
    const rings = Array.from({ length: 5 }, () => new KeyRing({ secrets: TEST_SECRETS, db: fresh.db, algorithm: 'EdDSA' }))
    await Promise.all(rings.map((r) => r.init()))
    const kids = new Set(rings.map((r) => r.signingKey().kid))
    expect(kids.size).toBe(1)
    const rows = await fresh.db.selectFrom('signing_keys').select('kid').execute()
    expect(rows).toHaveLength(1)
  })

  it('HS256 needs a secret: missing is a TypeError, not a bad credential', () => {
    expect(() => new KeyRing({ secrets: TEST_SECRETS, db: t.db, algorithm: 'HS256' })).toThrow(TypeError)
  })
})
