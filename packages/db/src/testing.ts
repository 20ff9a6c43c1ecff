/**
 * Disposable, migrated, isolated databases for tests.
 * `DATABASE_URL` set → a fresh schema on that server; unset → a private in-memory PGlite.
 */
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'

import type { Db } from './index.js'
import { createDb, dumpEmbedded } from './index.js'
import { migrate, MIGRATION_LOCK_KEY } from './migrate.js'

/**
 * Where a test run keeps its migrated PGlite template (the root vitest config names a fresh file per
 * run and removes it after). Unset, each test process builds its own once.
 */
export const PGLITE_TEMPLATE_ENV = 'GATEHOUSE_TEST_PGLITE_TEMPLATE'

let template: Promise<Blob> | undefined

/** A fresh database after initdb and every migration, as a tarball: what a new test database starts from. */
async function buildTemplate(): Promise<Blob> {
  const db = await createDb({ dataDir: null, poolSize: 1 })
  try {
    await migrate(db)
    // Flushed, so a copy starts without replaying the migrations' WAL.
    await sql`checkpoint`.execute(db)
    return await dumpEmbedded(db)
  } finally {
    await db.destroy()
  }
}

/**
 * initdb is most of what a new PGlite costs (1.5–3 s against ~0.4 s to load a copy), and the suite
 * starts hundreds: the first test process of a run builds the migrated template and writes it to
 * the run's file, the others read it. Two processes that build it at once both write whole files;
 * the rename makes either one the file.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const file = process.env[PGLITE_TEMPLATE_ENV]
    if (file) {
      try {
        return new Blob([await readFile(file)])
      } catch {
        // not built yet in this run
      }
    }
    const built = await buildTemplate()
    if (file) {
      const partial = `${file}.${process.pid}.partial`
      await writeFile(partial, Buffer.from(await built.arrayBuffer()))
      await rename(partial, file)
    }
    return built
  })()
  return template
}

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
    // A migrated database is a copy of this run's template, which migrate() built (template.test.ts
    // checks a copy has nothing left to apply); an unmigrated one (the migrations' own tests) runs initdb.
    const template = opts.migrate === false ? undefined : await pgliteTemplate()
    const db = await createDb({ dataDir, embeddedTemplate: template })
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
      // Under the migrations' lock: Kysely's Migrator reads the catalog of every schema, and a
      // schema dropped in the middle of that read fails another test's migration.
      await admin.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn)
        try {
          await sql`drop schema ${sql.id(schema)} cascade`.execute(conn)
        } finally {
          await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn)
        }
      })
      await admin.destroy()
    },
  }
}
