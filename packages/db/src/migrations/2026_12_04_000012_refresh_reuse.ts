import type { Kysely } from 'kysely'
import { sql } from 'kysely'

/**
 * Refresh token reuse (packages/auth/src/tokens/refresh.ts).
 *
 * `token_families`: one row per login whose refresh tokens have been rotated or revoked (written
 * then, not at login). Every rotation takes its family's row lock and checks `revoked_at`, and
 * every revocation sets `revoked_at` under the same lock before it blacklists the family's
 * tokens, so a rotation committing while its family is revoked either waits and finds it revoked
 * or commits first and has its new token blacklisted. `expires_at` (the family's latest token's)
 * lets pruning drop the row.
 *
 * `blacklisted_tokens.rotated_at`: set when rotation blacklisted the token (by the service clock),
 * null when a revocation did. A rotated token presented again within REFRESH_REUSE_INTERVAL of it
 * gets a new pair of its family instead of revoking it. Rows blacklisted before this migration
 * have none: presented again, they count as reuse, as they always did.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('token_families')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('token_families_user_idx').on('token_families').column('user_id').execute()
  await db.schema.createIndex('token_families_expires_idx').on('token_families').column('expires_at').execute()
  await db.schema.alterTable('blacklisted_tokens').addColumn('rotated_at', 'timestamptz').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('blacklisted_tokens').dropColumn('rotated_at').execute()
  await db.schema.dropTable('token_families').ifExists().execute()
}
