import type { Kysely } from 'kysely'
import { sql } from 'kysely'

// Opaque API tokens (DRF authtoken with knox's improvements): many named tokens per user, each
// `<id>.<secret>`. Only the SHA-256 of the secret is stored (hex), so a leaked table cannot be
// replayed. At most one token per user is the default one that `auth.tokens.obtain` replaces;
// the partial unique index is what lets that replacement be one atomic upsert.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(64)', (c) => c.notNull())
    .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('is_default', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('api_tokens_user_idx').on('api_tokens').column('user_id').execute()
  await db.schema
    .createIndex('api_tokens_default_idx')
    .on('api_tokens')
    .column('user_id')
    .unique()
    .where(sql.ref('is_default'), '=', true)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('api_tokens').ifExists().execute()
}
