/**
 * The admin writes under concurrency: two administrators (or a retried request) doing the same
 * thing at once must both get an answer, never a unique-violation 500; and the delegation rule
 * reads its target under the lock the write holds.
 */
import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { Actor } from './permissions/delegation.js'
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
    const results = await times(6, () => admin.setUserGroups(t.db, u.id, { groups: ['Concurrent A', 'Concurrent B'] }))
    for (const r of results) expect(r.groups).toEqual(['Concurrent A', 'Concurrent B'])
    // one role change, one epoch bump: the others changed nothing
    const row = await t.db.selectFrom('users').select('token_epoch').where('id', '=', u.id).executeTakeFirstOrThrow()
    expect(row.token_epoch).toBe(1)
  })

  it('setUserGroups for a user that does not exist is NOT_FOUND, not a foreign-key error', async () => {
    await auth.createGroup('Concurrent A')
    await expect(admin.setUserGroups(t.db, 2_000_000_000, { groups: ['Concurrent A'] })).rejects.toMatchObject({
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

describe(`${TEST_BACKEND}: the delegation rule is checked on the row the write locks`, () => {
  let t: TestDatabase
  let auth: AuthService
  beforeAll(async () => {
    t = await createTestDb()
    auth = await createAuthService({ secretKey: TEST_SECRET_KEY, db: t.db, passwordHashCost: 4, jwt: { algorithm: 'EdDSA' } })
  })
  afterAll(() => t[Symbol.asyncDispose]())

  const delegate: Actor = {
    id: -1,
    isStaff: true,
    isSuperuser: false,
    groups: [],
    permissions: new Set(['change_user']),
  }

  it('should see a promotion committed while it waited, and refuse to deactivate the new superuser', async () => {
    const u = await auth.createUser({ username: 'promoted', password: 'x', skipValidation: true })
    let release = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    let holderPid: number | undefined
    let locked = () => {}
    const isLocked = new Promise<void>((resolve) => (locked = resolve))
    const promotion = t.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ is_superuser: true }).where('id', '=', u.id).execute()
      holderPid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]?.pid
      locked()
      await held
    })
    await isLocked
    const deactivation = admin.setUserActive(t.db, u.id, { active: false, actor: delegate })
    if (TEST_BACKEND === 'postgres') {
      // Wait until the deactivation is queued behind the promotion's row lock: a check that read
      // the row without that lock would already have seen "not a superuser".
      const blocked = async () =>
        (
          await sql<{
            n: number
          }>`select count(*)::int as n from pg_stat_activity where ${holderPid} = any(pg_blocking_pids(pid))`.execute(
            t.db,
          )
        ).rows[0]?.n ?? 0
      while ((await blocked()) === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    release()
    await promotion
    await expect(deactivation).rejects.toMatchObject({
      code: 'NOT_PERMITTED',
      message: 'Only a superuser can change a superuser.',
    })
    const row = await t.db.selectFrom('users').select('is_active').where('id', '=', u.id).executeTakeFirstOrThrow()
    expect(row.is_active).toBe(true)
  })

  it('binds no operator: without an actor (the CLI) every change goes through', async () => {
    const root = await auth.createUser({ username: 'op-root', password: 'x', skipValidation: true, isSuperuser: true })
    await expect(admin.setUserActive(t.db, root.id, { active: false })).resolves.toMatchObject({ isActive: false })
    await expect(admin.grantPermission(t.db, { username: 'op-root', codename: 'delete_user' })).resolves.toBe(true)
  })
})
