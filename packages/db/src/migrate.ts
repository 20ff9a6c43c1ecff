import type { Kysely, MigrationResult } from 'kysely'
import { Migrator, sql } from 'kysely'

import { migrations } from './migrations/index.js'

// Any constant works; it only has to be the same in every process that migrates this database.
export const MIGRATION_LOCK_KEY = 7_316_245_001

export class MigrationError extends Error {
  override readonly name = 'MigrationError'
}

/**
 * Applies pending migrations and returns what ran. Idempotent.
 *
 * Kysely's Migrator locks its own table, but creating that table is not safe when two processes
 * start on an empty database at the same moment (`CREATE TABLE IF NOT EXISTS` races on pg_type).
 * A session-level advisory lock on one connection serialises the whole run instead.
 *
 * @example
 * const results = await migrate(db)
 */
export async function migrate(db: Kysely<any>): Promise<MigrationResult[]> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn)
    try {
      // Kysely looks for its bookkeeping tables in any schema unless told which: name the one
      // this connection works in, so a database with several Gatehouse schemas migrates each.
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(conn)
      const migrator = new Migrator({
        db: conn,
        provider: { getMigrations: () => Promise.resolve(migrations) },
        migrationTableSchema: rows[0]?.schema ?? 'public',
      })
      const { error, results = [] } = await migrator.migrateToLatest()
      // The Migrator never throws: it reports. Turn a report of failure into an error.
      if (error) {
        const failed = results.find((r) => r.status === 'Error')
        throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`, {
          cause: error,
        })
      }
      return results
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn)
    }
  })
}
