import type { Kysely } from 'kysely'
import { sql } from 'kysely'

/**
 * Issue 16, item 9: a rotated signing key is published at once and signs only from
 * `activates_at` (KEY_ACTIVATION_DELAY later), once JWKS caches downstream hold it. Keys made
 * before signed from their creation.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('signing_keys')
    .addColumn('activates_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.updateTable('signing_keys').set({ activates_at: sql`created_at` }).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').dropColumn('activates_at').execute()
}
