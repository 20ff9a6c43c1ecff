import type { Db } from '@gatehouse/db'
import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuthService } from '../service.js'
import * as admin from '../admin.js'
import { createAuthService } from '../service.js'
import { TEST_SECRET_KEY } from '../testing.js'

const PASSWORD = 'Tr1cky-passphrase'

/** The same database, counting the statements sent through it. */
function counting(db: Db) {
  const counter = { queries: 0 }
  const counted = db.withPlugin({
    transformQuery: (args) => {
      counter.queries += 1
      return args.node
    },
    transformResult: (args) => Promise.resolve(args.result),
  })
  return { db: counted, counter }
}

describe(`${TEST_BACKEND}: the per-user token epoch`, () => {
  let t: TestDatabase
  let auth: AuthService
  let counter: { queries: number }
  let n = 0
  beforeAll(async () => {
    t = await createTestDb()
    const c = counting(t.db)
    counter = c.counter
    auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: c.db,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  async function loggedIn() {
    const username = `ep${++n}`
    const user = await auth.createUser({ username, password: PASSWORD, skipValidation: true })
    const pair = await auth.login({ username, password: PASSWORD })
    const { token: sliding } = await auth.obtainSlidingToken({ username, password: PASSWORD })
    return { ...user, ...pair, sliding }
  }

  const epochOf = async (id: number) =>
    (await t.db.selectFrom('users').select('token_epoch').where('id', '=', id).executeTakeFirstOrThrow()).token_epoch

  it('stamps the epoch into access and sliding tokens, not refresh tokens', async () => {
    const u = await loggedIn()
    expect(decodeJwt(u.access).epoch).toBe(0)
    expect(decodeJwt(u.sliding).epoch).toBe(0)
    expect(decodeJwt(u.refresh).epoch).toBeUndefined()
  })

  it('authenticates a Bearer token in one query, blacklist check of a sliding token included', async () => {
    const u = await loggedIn()
    for (const token of [u.access, u.sliding]) {
      const before = counter.queries
      await auth.authenticateAccessToken(token)
      expect(counter.queries - before).toBe(1)
    }
  })

  it('never looks an access token up in the blacklist', async () => {
    const u = await loggedIn()
    // Even a row claiming its jti is blacklisted does not matter: access tokens end by epoch and expiry.
    const { jti } = decodeJwt(u.access)
    await t.db
      .insertInto('outstanding_tokens')
      .values({
        jti: jti!,
        user_id: u.id,
        family_id: jti!,
        token_type: 'access',
        expires_at: new Date(Date.now() + 60_000),
      })
      .execute()
    await t.db.insertInto('blacklisted_tokens').values({ jti: jti! }).execute()
    await expect(auth.authenticateAccessToken(u.access)).resolves.toMatchObject({ id: u.id })
  })

  it('a password change revokes access tokens and ends refresh and sliding tokens', async () => {
    const u = await loggedIn()
    await auth.changePassword(u.username, 'N3w-passphrase!', { skipValidation: true })
    expect(await epochOf(u.id)).toBe(1)
    await expect(auth.authenticateAccessToken(u.access)).rejects.toMatchObject({
      code: 'TOKEN_REVOKED',
      message: 'Token has been revoked',
    })
    await expect(auth.verify(u.access)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
    await expect(auth.refresh(u.refresh)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    await expect(auth.authenticateAccessToken(u.sliding)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    await expect(auth.refreshSlidingToken(u.sliding)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
  })

  it('a role change revokes access and sliding tokens; refreshing carries the new epoch', async () => {
    const u = await loggedIn()
    expect(await auth.addToGroup(u.username, 'HR')).toBe(true)
    await expect(auth.authenticateAccessToken(u.access)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
    await expect(auth.authenticateAccessToken(u.sliding)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
    const pair = await auth.refresh(u.refresh)
    expect(decodeJwt(pair.access).epoch).toBe(1)
    await expect(auth.authenticateAccessToken(pair.access)).resolves.toMatchObject({ groups: ['HR'] })
    const { token } = await auth.refreshSlidingToken(u.sliding)
    expect(decodeJwt(token).epoch).toBe(1)
    await expect(auth.authenticateAccessToken(token)).resolves.toMatchObject({ groups: ['HR'] })
    // Adding a member twice, or removing a non-member, changes nothing and bumps nothing.
    expect(await auth.addToGroup(u.username, 'HR')).toBe(false)
    expect(await auth.removeFromGroup(u.username, 'Manager')).toBe(false)
    expect(await epochOf(u.id)).toBe(1)
    expect(await auth.removeFromGroup(u.username, 'HR')).toBe(true)
    expect(await epochOf(u.id)).toBe(2)
  })

  it('admin role changes bump only when a role really changes', async () => {
    const u = await loggedIn()
    await admin.updateUserFlags(t.db, u.id, { email: 'x@example.com', isStaff: false, isSuperuser: false })
    await admin.setUserGroups(t.db, u.id, { groups: [] })
    expect(await epochOf(u.id)).toBe(0)
    await admin.updateUserFlags(t.db, u.id, { isStaff: true })
    expect(await epochOf(u.id)).toBe(1)
    await admin.updateUserFlags(t.db, u.id, { isStaff: true, isSuperuser: true })
    expect(await epochOf(u.id)).toBe(2)
    await admin.setUserGroups(t.db, u.id, { groups: ['HR', 'Manager'] })
    await admin.setUserGroups(t.db, u.id, { groups: ['Manager', 'HR'] })
    expect(await epochOf(u.id)).toBe(3)
    await admin.setUserGroups(t.db, u.id, { groups: ['HR'] })
    expect(await epochOf(u.id)).toBe(4)
    await expect(auth.authenticateAccessToken(u.access)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
    // Role changes leave refresh tokens alone.
    await expect(auth.refresh(u.refresh)).resolves.toMatchObject({ access: expect.any(String) })
  })

  it('deleting a group bumps its members, and nobody else', async () => {
    const [member, bystander] = [await loggedIn(), await loggedIn()]
    const name = `Temp${n}`
    await auth.createGroup(name)
    await auth.addToGroup(member.username, name)
    await admin.deleteGroup(t.db, name)
    expect(await epochOf(member.id)).toBe(2)
    expect(await epochOf(bystander.id)).toBe(0)
    await expect(admin.deleteGroup(t.db, name)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('deactivation ends everything, and reactivation revives nothing', async () => {
    const u = await loggedIn()
    await admin.setUserActive(t.db, u.id, { active: false })
    await expect(auth.authenticateAccessToken(u.access)).rejects.toMatchObject({ code: 'USER_INACTIVE' })
    await admin.setUserActive(t.db, u.id, { active: true })
    await expect(auth.authenticateAccessToken(u.access)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
    await expect(auth.refresh(u.refresh)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    await expect(auth.refreshSlidingToken(u.sliding)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    await expect(auth.authenticateAccessToken(u.sliding)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
  })

  it('log out everywhere: tokens, sessions, OAuth sign-ins and the audit row; API keys stay', async () => {
    const [u, other] = [await loggedIn(), await loggedIn()]
    const { token: key } = await auth.obtainApiToken({ username: u.username, password: PASSWORD })
    await t.db
      .insertInto('sessions')
      .values({ id: `s${n}`, user_id: u.id, secret_hash: '0'.repeat(64), expires_at: new Date(Date.now() + 3_600_000) })
      .execute()
    // oidc-provider's sign-ins (apps/server/src/oauth), one for each user
    await t.db
      .insertInto('oauth_payloads')
      .values(
        [u, other].map((x) => ({
          model: 'Session',
          id: `oauth-${n}-${x.id}`,
          payload: JSON.stringify({ accountId: String(x.id), kind: 'Session' }),
          expires_at: new Date(Date.now() + 3_600_000),
        })),
      )
      .execute()
    await auth.logoutAll(u, { address: '203.0.113.9', userAgent: 'test' })
    const signIns = await t.db.selectFrom('oauth_payloads').select('id').where('model', '=', 'Session').execute()
    expect(signIns.map((r) => r.id)).toEqual([`oauth-${n}-${other.id}`])
    await expect(auth.authenticateAccessToken(u.access)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
    await expect(auth.refresh(u.refresh)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    await expect(auth.refreshSlidingToken(u.sliding)).rejects.toMatchObject({ code: 'TOKEN_BLACKLISTED' })
    expect(await t.db.selectFrom('sessions').select('id').where('user_id', '=', u.id).execute()).toEqual([])
    await expect(auth.authenticateApiToken(key)).resolves.toMatchObject({ id: u.id })
    await expect(auth.authenticateAccessToken(other.access)).resolves.toMatchObject({ id: other.id })
    const row = await t.db
      .selectFrom('audit_events')
      .select(['event', 'username', 'address', 'user_agent'])
      .where('user_id', '=', u.id)
      .where('event', '=', 'logout.everywhere')
      .executeTakeFirst()
    expect(row).toEqual({
      event: 'logout.everywhere',
      username: u.username,
      address: '203.0.113.9',
      user_agent: 'test',
    })
    // A new login afterwards is a new login.
    const again = await auth.login({ username: u.username, password: PASSWORD })
    await expect(auth.authenticateAccessToken(again.access)).resolves.toMatchObject({ id: u.id })
  })
})
