/**
 * The admin writes under concurrency: two administrators (or a retried request) doing the same
 * thing at once must both get an answer, never a unique-violation 500.
 */
import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { TEST_SECRET_KEY } from './testing.js'
import * as admin from './admin.js'
import type { AuthService } from './service.js'
import { createAuthService } from './service.js'

describe(`${TEST_BACKEND}: admin writes at the same time`, () => {
  let t: TestDatabase
  let auth: AuthService
  let n = 0
  beforeAll(async () => {
    t = await createTestDb()
    auth = await createAuthService({
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' },
    })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  const user = () => auth.createUser({ username: `adm${++n}`, password: 'x', skipValidation: true })
  const times = <T>(count: number, f: () => Promise<T>) => Promise.all(Array.from({ length: count }, f))

  it('setUserGroups six times at once: each succeeds, the user ends in exactly those groups', async () => {
    const u = await user()
    await auth.createGroup('Concurrent A')
    await auth.createGroup('Concurrent B')
    const results = await times(6, () => admin.setUserGroups(t.db, u.id, ['Concurrent A', 'Concurrent B']))
    for (const r of results) expect(r.groups).toEqual(['Concurrent A', 'Concurrent B'])
    // one role change, one epoch bump: the others changed nothing
    const row = await t.db.selectFrom('users').select('token_epoch').where('id', '=', u.id).executeTakeFirstOrThrow()
    expect(row.token_epoch).toBe(1)
  })

  it('setUserGroups for a user that does not exist is NOT_FOUND, not a foreign-key error', async () => {
    await auth.createGroup('Concurrent A')
    await expect(admin.setUserGroups(t.db, 2_000_000_000, ['Concurrent A'])).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
  })

  it('the same object grant six times at once: one grants it, the others find it held', async () => {
    const u = await user()
    const grant = { username: u.username, codename: 'change_article', objectId: '42' }
    const results = await times(6, () => admin.grantObjectPermission(t.db, grant))
    expect(results.filter(Boolean)).toHaveLength(1)
    const rows = await t.db.selectFrom('object_permissions').select('id').where('user_id', '=', u.id).execute()
    expect(rows).toHaveLength(1)
  })
})
