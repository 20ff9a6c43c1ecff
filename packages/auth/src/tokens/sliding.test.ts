import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuthService } from '../service.js'
import { signToken } from '../jwt/sign.js'
import { createAuthService } from '../service.js'
import { TEST_SECRET_KEY } from '../testing.js'

const T0 = new Date('2026-03-01T00:00:00Z')
let now = T0
const clock = () => now
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000)
const T0S = T0.getTime() / 1000

describe(`${TEST_BACKEND}: sliding tokens`, () => {
  let t: TestDatabase
  let auth: AuthService
  let counter = 0
  beforeAll(async () => {
    t = await createTestDb()
    auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA', slidingTokenLifetimeSeconds: 300, slidingTokenRefreshLifetimeSeconds: 3600 },
    })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  async function user() {
    now = T0
    const username = `slider${++counter}`
    const created = await auth.createUser({ username, password: 'Tr1cky-passphrase', skipValidation: true })
    const { token } = await auth.obtainSlidingToken({ username, password: 'Tr1cky-passphrase' })
    return { ...created, token }
  }

  it("carries simplejwt's claims, the epoch, and is recorded so it can be blacklisted", async () => {
    const u = await user()
    const claims = decodeJwt(u.token)
    expect(claims).toEqual({
      token_type: 'sliding',
      epoch: 0,
      refresh_exp: T0S + 3600,
      sub: String(u.id),
      jti: expect.stringMatching(/^[0-9a-f]{32}$/),
      iat: T0S,
      exp: T0S + 300,
    })
    expect(decodeProtectedHeader(u.token).kid).toBe(auth.keys.signingKey().kid)
    const row = await t.db
      .selectFrom('outstanding_tokens')
      .selectAll()
      .where('jti', '=', claims.jti!)
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({ user_id: u.id, token_type: 'sliding', family_id: claims.jti, expires_at: at(3600) })
  })

  it('authenticates as Bearer until exp; refreshes before exp into the same jti and refresh_exp', async () => {
    const u = await user()
    await expect(auth.authenticateAccessToken(u.token)).resolves.toMatchObject({ id: u.id })
    now = at(299)
    const { token } = await auth.refreshSlidingToken(u.token)
    const [before, after] = [decodeJwt(u.token), decodeJwt(token)]
    expect(after).toEqual({ ...before, iat: T0S + 299, exp: T0S + 599 })
    now = at(301)
    await expect(auth.authenticateAccessToken(u.token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' })
    await expect(auth.authenticateAccessToken(token)).resolves.toMatchObject({ id: u.id })
  })

  it('refuses to refresh an expired token, well within refresh_exp, as simplejwt does', async () => {
    const u = await user()
    now = at(300) // exp itself: expired, as PyJWT and jose both count it
    await expect(auth.refreshSlidingToken(u.token)).rejects.toMatchObject({
      code: 'TOKEN_EXPIRED',
      message: 'Token is invalid or expired',
    })
    // Nothing was re-stamped or recorded: the chain ended with that token's exp.
    const refreshed = await t.db
      .selectFrom('audit_events')
      .select('event')
      .where('user_id', '=', u.id)
      .where('event', '=', 'token.refreshed')
      .execute()
    expect(refreshed).toEqual([])
  })

  it("checks exp before refresh_exp, and refuses a live token at refresh_exp with simplejwt's message", async () => {
    const u = await user()
    now = at(3599)
    await expect(auth.refreshSlidingToken(u.token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' })
    let { token } = u
    for (let s = 250; s < 3600; s += 250) {
      now = at(s)
      ;({ token } = await auth.refreshSlidingToken(token))
    }
    now = at(3599)
    ;({ token } = await auth.refreshSlidingToken(token))
    expect(decodeJwt(token)).toMatchObject({ exp: T0S + 3899, refresh_exp: T0S + 3600 })
    now = at(3600)
    await expect(auth.authenticateAccessToken(token)).resolves.toMatchObject({ id: u.id })
    await expect(auth.refreshSlidingToken(token)).rejects.toMatchObject({
      code: 'TOKEN_REFRESH_EXPIRED',
      message: "Token 'refresh_exp' claim has expired",
    })
    // Past both: exp is checked first.
    now = at(3900)
    await expect(auth.refreshSlidingToken(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' })
  })

  it('logout accepts an expired token until refresh_exp', async () => {
    const u = await user()
    now = at(3599)
    await auth.logoutSlidingToken(u.token)
    const row = await t.db
      .selectFrom('blacklisted_tokens')
      .select('jti')
      .where('jti', '=', decodeJwt(u.token).jti!)
      .executeTakeFirst()
    expect(row).toBeDefined()
    const other = await user()
    now = at(3600)
    await expect(auth.logoutSlidingToken(other.token)).rejects.toMatchObject({ code: 'TOKEN_REFRESH_EXPIRED' })
  })

  it('logout blacklists the whole chain: the token, and every refresh of it', async () => {
    const u = await user()
    const { token: refreshed } = await auth.refreshSlidingToken(u.token)
    await auth.logoutSlidingToken(u.token)
    await auth.logoutSlidingToken(u.token) // idempotent
    for (const token of [u.token, refreshed]) {
      await expect(auth.authenticateAccessToken(token)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
      await expect(auth.refreshSlidingToken(token)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
      await expect(auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    }
    const events = await t.db
      .selectFrom('audit_events')
      .select(['event', 'detail'])
      .where('user_id', '=', u.id)
      .execute()
    expect(events).toContainEqual({ event: 'logout', detail: { via: 'sliding', jti: decodeJwt(u.token).jti } })
  })

  it('refuses other token types, and sliding tokens where others are expected', async () => {
    const u = await user()
    const pair = await auth.login({ username: u.username, password: 'Tr1cky-passphrase' })
    for (const other of [pair.access, pair.refresh]) {
      await expect(auth.refreshSlidingToken(other)).rejects.toMatchObject({ code: 'TOKEN_WRONG_TYPE' })
      await expect(auth.logoutSlidingToken(other)).rejects.toMatchObject({ code: 'TOKEN_WRONG_TYPE' })
    }
    await expect(auth.refresh(u.token)).rejects.toMatchObject({ code: 'TOKEN_WRONG_TYPE' })
    await expect(auth.logout(u.token)).rejects.toMatchObject({ code: 'TOKEN_WRONG_TYPE' })
  })

  it('refuses a well-signed sliding token that was never recorded, or has no refresh_exp', async () => {
    const u = await user()
    const opts = { keys: auth.keys, clock, lifetimeSeconds: 300 }
    const unrecorded = await signToken(
      { userId: u.id, tokenType: 'sliding', epoch: 0, refreshExpiresAt: at(9e6) },
      opts,
    )
    const noRefreshExp = await signToken({ userId: u.id, tokenType: 'sliding', epoch: 0 }, opts)
    for (const { token } of [unrecorded, noRefreshExp]) {
      await expect(auth.refreshSlidingToken(token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    }
    // Someone else's recorded jti in a token naming another user is not theirs to refresh.
    const other = await user()
    const stolenJti = decodeJwt(other.token).jti!
    const crossed = await signToken(
      { userId: u.id, tokenType: 'sliding', jti: stolenJti, refreshExpiresAt: at(3600) },
      opts,
    )
    await expect(auth.refreshSlidingToken(crossed.token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
  })

  it('an inactive user cannot refresh', async () => {
    const u = await user()
    await t.db.updateTable('users').set({ is_active: false }).where('id', '=', u.id).execute()
    await expect(auth.refreshSlidingToken(u.token)).rejects.toMatchObject({ code: 'USER_INACTIVE' })
    await expect(auth.authenticateAccessToken(u.token)).rejects.toMatchObject({ code: 'USER_INACTIVE' })
  })

  it('obtain checks the password as login does, and records the same audit rows', async () => {
    const u = await user()
    await expect(auth.obtainSlidingToken({ username: u.username, password: 'wrong-passphrase' })).rejects.toMatchObject(
      {
        code: 'INVALID_CREDENTIALS',
        message: 'Invalid credentials',
      },
    )
    const rows = await t.db
      .selectFrom('audit_events')
      .select(['event', 'detail'])
      .where('username', '=', u.username)
      .orderBy('id')
      .execute()
    expect(rows).toEqual([
      { event: 'login.succeeded', detail: { via: 'sliding' } },
      { event: 'login.failed', detail: { via: 'sliding', why: 'wrong_password' } },
    ])
  })
})
