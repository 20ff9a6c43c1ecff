import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { Migrator, sql } from 'kysely'
import { describe, expect, it } from 'vitest'

import { createDb, dbInfo, migrate } from '../src/index.js'
import { migrations } from '../src/migrations/index.js'
import { createTestDb, TEST_BACKEND } from '../src/testing.js'

describe(`${TEST_BACKEND}: migrations`, () => {
  it('are idempotent and leave the groups Admin, Manager, HR (and Editors) in place', async () => {
    await using t = await createTestDb()
    const again = await migrate(t.db)
    expect(again).toEqual([])
    const groups = await t.db.selectFrom('groups').select('name').orderBy('name').execute()
    expect(groups.map((g) => g.name)).toEqual(['Admin', 'Editors', 'HR', 'Manager'])
  })

  it('000014: default keys from before stay, as plain keys; every user gets a random DRF key nonce', async () => {
    await using t = await createTestDb({ migrate: false })
    // Named, as migrate() does: unnamed, Kysely takes another test schema's bookkeeping for this one's.
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(t.db)
    const migrator = new Migrator({
      db: t.db,
      provider: { getMigrations: () => Promise.resolve(migrations) },
      migrationTableSchema: rows[0]?.schema ?? 'public',
    })
    const before = await migrator.migrateTo('2026_12_04_000011_secrets_at_rest')
    expect(before.error).toBeUndefined()
    const users = await t.db
      .insertInto('users')
      .values([
        { username: 'old', password: '!' },
        { username: 'older', password: '!' },
      ])
      .returning('id')
      .execute()
    const [a, b] = users.map((u) => u.id)
    await t.db
      .insertInto('api_tokens')
      .values({
        id: 'a'.repeat(24),
        user_id: a ?? 0,
        name: 'default',
        secret_hash: 'f'.repeat(64),
        is_default: true,
        created_at: new Date(),
      })
      .execute()
    expect((await migrate(t.db)).map((r) => r.migrationName)).toContain('2026_12_04_000014_drf_token_keys')
    const key = await t.db.selectFrom('api_tokens').select(['name', 'is_default']).executeTakeFirstOrThrow()
    expect(key).toEqual({ name: 'default', is_default: false })
    const nonces = await t.db
      .selectFrom('users')
      .select('drf_key_nonce')
      .where('id', 'in', [a ?? 0, b ?? 0])
      .execute()
    expect(new Set(nonces.map((n) => n.drf_key_nonce)).size).toBe(2)
    for (const { drf_key_nonce } of nonces) expect(drf_key_nonce).toMatch(/^[0-9a-f-]{36}$/)
  }, 90_000) // an unmigrated PGlite database runs initdb (no template)

  it('should not fail when several connections migrate one empty database at once', async () => {
    await using t = await createTestDb({ migrate: false, shared: true })
    const others = await Promise.all([1, 2, 3].map(() => createDb({ ...t.connection, poolSize: 2 })))
    try {
      const results = await Promise.all([t.db, ...others].map((db) => migrate(db)))
      // exactly one run applied the migrations; the rest found nothing to do
      expect(results.filter((r) => r.length > 0)).toHaveLength(1)
    } finally {
      await Promise.all(others.map((db) => db.destroy()))
    }
  })
})

describe('pglite data folder', () => {
  it('lets a second opener in the same folder connect through the holder socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-db-'))
    try {
      const first = await createDb({ dataDir: dir })
      expect(dbInfo(first)).toMatchObject({ backend: 'pglite', holder: true })
      await migrate(first)
      const second = await createDb({ dataDir: dir })
      expect(dbInfo(second)).toMatchObject({ backend: 'pglite', holder: false })
      const rows = await second.selectFrom('groups').select('name').execute()
      expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['Admin', 'Manager', 'HR']))
      await second.destroy()
      await first.destroy()
      // once the holder is gone, the folder opens again (and keeps its data)
      const third = await createDb({ dataDir: dir })
      expect(dbInfo(third)).toMatchObject({ holder: true })
      expect(await migrate(third)).toEqual([])
      await third.destroy()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('releases the folder on destroy() even when no query ever ran', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-db-'))
    try {
      const unused = await createDb({ dataDir: dir })
      expect(dbInfo(unused).holder).toBe(true)
      await unused.destroy()
      const next = await createDb({ dataDir: dir })
      expect(dbInfo(next).holder).toBe(true) // it could take the lock, so the first let it go
      await next.destroy()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
