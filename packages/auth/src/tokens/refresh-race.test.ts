/**
 * A family's revocation against a rotation (or a grace sibling) of the same family at the same
 * moment, with the interleaving forced: one side runs in a transaction the test holds open, the
 * other is started and observed waiting on it (pg_blocking_pids), then the first commits. Either
 * way round, no token of the family outlives the revocation. Postgres only: PGlite has one
 * session, so nothing there can wait on an open transaction (the HTTP suite's concurrent test
 * covers it, serialised).
 */
import type { Db } from '@gatehouse/db'
import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { decodeJwt } from 'jose'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { AuthService } from '../service.js'
import { newJti } from '../jwt/claims.js'
import { createAuthService } from '../service.js'
import { TEST_SECRET_KEY } from '../testing.js'
import {
  findOutstandingToken,
  isBlacklisted,
  recordGraceSibling,
  revokeFamily,
  rotateRefreshRow,
} from '../store/token.repository.js'

const PASSWORD = 'Tr1cky-passphrase'

describe.skipIf(TEST_BACKEND !== 'postgres')(`${TEST_BACKEND}: family revocation racing a rotation`, () => {
  let t: TestDatabase
  let db: Db
  let auth: AuthService
  let n = 0
  beforeAll(async () => {
    t = await createTestDb()
    db = t.db
    auth = await createAuthService({ secretKey: TEST_SECRET_KEY, db, passwordHashCost: 4, jwt: { algorithm: 'EdDSA' } })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  /** A login that has rotated once: `rotated` is blacklisted (just now), `live` is its successor. */
  async function family() {
    const username = `race${++n}`
    const user = await auth.createUser({ username, password: PASSWORD, skipValidation: true })
    const first = await auth.login({ username, password: PASSWORD })
    const second = await auth.refresh(first.refresh)
    const jtiOf = (token: string) => decodeJwt(token).jti as string
    const row = await findOutstandingToken(db, jtiOf(second.refresh))
    return { userId: user.id, familyId: row!.family_id, rotated: jtiOf(first.refresh), live: jtiOf(second.refresh) }
  }

  const nextToken = () => ({ jti: newJti(), expiresAt: new Date(Date.now() + 3_600_000) })
  const epochOf = async (id: number) =>
    (await db.selectFrom('users').select('token_epoch').where('id', '=', id).executeTakeFirstOrThrow()).token_epoch

  /** Opens a transaction and returns it with its backend's pid. */
  async function held() {
    const trx = await db.startTransaction().execute()
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)
    return { trx, pid: rows[0]!.pid }
  }

  /** Resolves once some other backend is waiting for a lock `pid` holds. */
  async function blockedBy(pid: number): Promise<void> {
    for (;;) {
      const { rows } = await sql<{ waiting: boolean }>`
        select exists (select 1 from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))) as waiting`.execute(db)
      if (rows[0]?.waiting) return
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  it('a revocation that waited for a rotation blacklists its new token, and its access token’s epoch is gone', async () => {
    const f = await family()
    const { trx, pid } = await held()
    const next = nextToken()
    const rotation = await rotateRefreshRow(trx, { jti: f.live, userId: f.userId, next, now: new Date() })
    expect(rotation?.won).toBe(true)
    const revoking = revokeFamily(db, { familyId: f.familyId, userId: f.userId, bumpEpoch: true })
    await blockedBy(pid)
    await trx.commit().execute()
    expect(await revoking).toBe(true)
    expect(await isBlacklisted(db, next.jti)).toBe(true)
    // The rotation signed its access token with the epoch it read; the revocation moved past it.
    expect(await epochOf(f.userId)).toBe((rotation?.token_epoch ?? 0) + 1)
  })

  it('a rotation that waited for a revocation records nothing', async () => {
    const f = await family()
    const { trx, pid } = await held()
    expect(await revokeFamily(trx, { familyId: f.familyId, userId: f.userId, bumpEpoch: true })).toBe(true)
    const next = nextToken()
    const rotating = rotateRefreshRow(db, { jti: f.live, userId: f.userId, next, now: new Date() })
    await blockedBy(pid)
    await trx.commit().execute()
    expect((await rotating)?.won).toBe(false)
    expect(await findOutstandingToken(db, next.jti)).toBeUndefined()
  })

  it('a grace sibling that waited for a revocation is not recorded', async () => {
    const f = await family()
    const { trx, pid } = await held()
    expect(await revokeFamily(trx, { familyId: f.familyId, userId: f.userId, bumpEpoch: true })).toBe(true)
    const next = nextToken()
    const since = new Date(Date.now() - 60_000)
    const granting = recordGraceSibling(db, {
      jti: f.rotated,
      userId: f.userId,
      next,
      now: new Date(),
      rotatedSince: since,
    })
    await blockedBy(pid)
    await trx.commit().execute()
    expect((await granting)?.won).toBe(false)
    expect(await findOutstandingToken(db, next.jti)).toBeUndefined()
  })

  it('a revocation that waited for a grace sibling blacklists it', async () => {
    const f = await family()
    const { trx, pid } = await held()
    const next = nextToken()
    const since = new Date(Date.now() - 60_000)
    const sibling = await recordGraceSibling(trx, {
      jti: f.rotated,
      userId: f.userId,
      next,
      now: new Date(),
      rotatedSince: since,
    })
    expect(sibling?.won).toBe(true)
    const revoking = revokeFamily(db, { familyId: f.familyId, userId: f.userId, bumpEpoch: false })
    await blockedBy(pid)
    await trx.commit().execute()
    expect(await revoking).toBe(true)
    expect(await isBlacklisted(db, next.jti)).toBe(true)
  })

  it('should not deadlock a reuse revocation with a password change and rotations of the same user', async () => {
    for (let round = 0; round < 10; round++) {
      const f = await family()
      const { username } = await db
        .selectFrom('users')
        .select('username')
        .where('id', '=', f.userId)
        .executeTakeFirstOrThrow()
      const results = await Promise.allSettled([
        rotateRefreshRow(db, { jti: f.live, userId: f.userId, next: nextToken(), now: new Date() }),
        revokeFamily(db, { familyId: f.familyId, userId: f.userId, bumpEpoch: true }),
        auth.changePassword(username, 'An0ther-passphrase', { skipValidation: true }),
        recordGraceSibling(db, {
          jti: f.rotated,
          userId: f.userId,
          next: nextToken(),
          now: new Date(),
          rotatedSince: new Date(Date.now() - 60_000),
        }),
        auth.logoutAll({ id: f.userId, username }),
      ])
      expect(results.filter((r) => r.status === 'rejected')).toEqual([])
      const alive = await db
        .selectFrom('outstanding_tokens as t')
        .leftJoin('blacklisted_tokens as b', 'b.jti', 't.jti')
        .select('t.jti')
        .where('t.family_id', '=', f.familyId)
        .where('b.jti', 'is', null)
        .execute()
      expect(alive).toEqual([])
    }
  })
})
