import type { Kysely } from 'kysely'

// Fixed-window request counters, shared by every server process (DRF keeps them in its cache).
// One row per key and window; the primary key is what makes the increment a single atomic upsert.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('throttle_counters')
    .addColumn('key', 'varchar(255)', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('throttle_counters_pk', ['key', 'window_start'])
    .execute()
  // Pruning deletes by expiry; without this index it would scan every live counter.
  await db.schema.createIndex('throttle_counters_expires_idx').on('throttle_counters').column('expires_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('throttle_counters').ifExists().execute()
}
