import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createAuthService } from '../service.js'
import { TEST_SECRET_KEY } from '../testing.js'
import { Pruner, pruneExpired } from './prune.js'

const T0 = new Date('2026-05-01T00:00:00Z')
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000)

describe(`${TEST_BACKEND}: self-pruning`, () => {
  let t: TestDatabase
  let userId: number
  let n = 0
  beforeAll(async () => {
    t = await createTestDb()
    const row = await t.db
      .insertInto('users')
      .values({ username: 'pruned', password: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow()
    userId = row.id
  })
  afterAll(() => t[Symbol.asyncDispose]())

  /** One row of each kind expiring at `expiresAt`, plus a blacklist row for the token. */
  async function rows(expiresAt: Date) {
    const id = `p${++n}`.padEnd(32, '0')
    await t.db
      .insertInto('outstanding_tokens')
      .values({ jti: id, user_id: userId, family_id: id, token_type: 'refresh', expires_at: expiresAt })
      .execute()
    await t.db.insertInto('blacklisted_tokens').values({ jti: id }).execute()
    await t.db
      .insertInto('sessions')
      .values({ id, user_id: userId, secret_hash: '0'.repeat(64), expires_at: expiresAt })
      .execute()
    await t.db
      .insertInto('api_tokens')
      .values({
        id: id.slice(0, 24),
        user_id: userId,
        name: 'k',
        secret_hash: '0'.repeat(64),
        created_at: T0,
        expires_at: expiresAt,
      })
      .execute()
    return id
  }

  async function present(id: string) {
    const [token, blacklisted, session, key] = await Promise.all([
      t.db.selectFrom('outstanding_tokens').select('jti').where('jti', '=', id).executeTakeFirst(),
      t.db.selectFrom('blacklisted_tokens').select('jti').where('jti', '=', id).executeTakeFirst(),
      t.db.selectFrom('sessions').select('id').where('id', '=', id).executeTakeFirst(),
      t.db.selectFrom('api_tokens').select('id').where('id', '=', id.slice(0, 24)).executeTakeFirst(),
    ])
    return [token, blacklisted, session, key].map((r) => r !== undefined)
  }

  it('prunes expired tokens (with their blacklist rows), sessions and API keys at most once per interval', async () => {
    let now = T0
    const pruner = new Pruner({ db: t.db, clock: () => now, intervalSeconds: 600 })
    const first = await rows(at(-1))
    const live = await rows(at(3600))
    pruner.afterWrite()
    await pruner.settled()
    expect(await present(first)).toEqual([false, false, false, false])
    expect(await present(live)).toEqual([true, true, true, true])

    now = at(599)
    const second = await rows(at(500))
    pruner.afterWrite()
    await pruner.settled()
    expect(await present(second)).toEqual([true, true, true, true]) // not due yet

    now = at(600)
    pruner.afterWrite()
    await pruner.settled()
    expect(await present(second)).toEqual([false, false, false, false])
    expect(await present(live)).toEqual([true, true, true, true])
  })

  it('keeps API keys that never expire', async () => {
    await t.db
      .insertInto('api_tokens')
      .values({
        id: 'forever'.padEnd(24, '0'),
        user_id: userId,
        name: 'k',
        secret_hash: '0'.repeat(64),
        created_at: T0,
        expires_at: null,
      })
      .execute()
    await pruneExpired(t.db, at(1e9))
    const row = await t.db
      .selectFrom('api_tokens')
      .select('id')
      .where('id', '=', 'forever'.padEnd(24, '0'))
      .executeTakeFirst()
    expect(row).toBeDefined()
  })

  it('never throws into the caller: a failing prune goes to onError, and the next claim retries', async () => {
    const errors: unknown[] = []
    let now = T0
    const broken = t.db.withPlugin({
      transformQuery: () => {
        throw new Error('database on fire')
      },
      transformResult: (args) => Promise.resolve(args.result),
    })
    const pruner = new Pruner({ db: broken, clock: () => now, intervalSeconds: 60, onError: (e) => errors.push(e) })
    expect(() => pruner.afterWrite()).not.toThrow()
    await pruner.settled()
    expect(errors).toEqual([expect.objectContaining({ message: 'database on fire' })])
    now = at(60)
    pruner.afterWrite()
    await pruner.settled()
    expect(errors).toHaveLength(2)
  })

  it('the service prunes after a login, in the background, by its own clock', async () => {
    let now = at(10_000)
    const auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock: () => now,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
    await auth.createUser({ username: 'pruner', password: 'Tr1cky-passphrase', skipValidation: true })
    const stale = await rows(at(9_000))
    await auth.login({ username: 'pruner', password: 'Tr1cky-passphrase' })
    await auth.pruneSettled()
    expect(await present(stale)).toEqual([false, false, false, false])
    // Within the interval the next write prunes nothing, however much expired meanwhile.
    const later = await rows(at(10_001))
    now = at(10_300)
    await auth.login({ username: 'pruner', password: 'Tr1cky-passphrase' })
    await auth.pruneSettled()
    expect(await present(later)).toEqual([true, true, true, true])
    // flushexpiredtokens clears the same three kinds, and counts them.
    expect(await auth.flushExpiredTokens()).toEqual({ tokens: 1, sessions: 1, apiTokens: 1 })
  })
})
