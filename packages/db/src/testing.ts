/**
 * Disposable, migrated, isolated databases for tests.
 * `DATABASE_URL` set → a fresh schema on that server; unset → a private in-memory PGlite.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'

import type { Db } from './index.js'
import { createDb } from './index.js'
import { migrate } from './migrate.js'

export type TestBackend = 'pglite' | 'postgres'

/** The backend this test run uses: CI runs the whole suite once per backend. */
export const TEST_BACKEND: TestBackend = process.env['DATABASE_URL'] ? 'postgres' : 'pglite'

export interface TestDatabase {
  db: Db
  /** Options that open the same database again (a second server process in a test). */
  connection: { databaseUrl?: string; pgOptions?: pg.PoolConfig; dataDir?: string | null }
  [Symbol.asyncDispose](): Promise<void>
}

export interface CreateTestDbOptions {
  /** @default true */
  migrate?: boolean
  /**
   * Whether other processes (a second server, the CLI) must reach the database. On PGlite that
   * takes a data folder and its socket instead of a private in-memory instance.
   * @default false
   */
  shared?: boolean
}

export async function createTestDb(opts: CreateTestDbOptions = {}): Promise<TestDatabase> {
  const databaseUrl = process.env['DATABASE_URL']
  if (!databaseUrl) {
    const dataDir = opts.shared ? await mkdtemp(join(tmpdir(), 'gh-test-')) : null
    const db = await createDb({ dataDir })
    if (opts.migrate !== false) await migrate(db)
    return {
      db,
      connection: { dataDir },
      [Symbol.asyncDispose]: async () => {
        await db.destroy()
        if (dataDir) await rm(dataDir, { recursive: true, force: true })
      },
    }
  }
  const schema = `gh_test_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`
  const admin = new Kysely<any>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }),
  })
  await sql`create schema ${sql.id(schema)}`.execute(admin)
  const pgOptions = { options: `-c search_path=${schema}` }
  const db = await createDb({ databaseUrl, pgOptions })
  if (opts.migrate !== false) await migrate(db)
  return {
    db,
    connection: { databaseUrl, pgOptions },
    [Symbol.asyncDispose]: async () => {
      await db.destroy()
      await sql`drop schema ${sql.id(schema)} cascade`.execute(admin)
      await admin.destroy()
    },
  }
}
