import type { Kysely } from 'kysely'
import { sql } from 'kysely'

// Issue 4's storage: the per-user token epoch, server-side sessions and the audit log.
export async function up(db: Kysely<any>): Promise<void> {
  // Carried in every access and sliding token; bumping it ends all of them at once. It lives on
  // the users row because authentication reads that row anyway, so checking it costs no query.
  await db.schema
    .alterTable('users')
    .addColumn('token_epoch', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()

  // DRF SessionAuthentication's django_session, as Gatehouse keeps it: the cookie is
  // `<id>.<secret>` and only the SHA-256 of the secret is stored (hex), like api_tokens.
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('address', 'varchar(64)')
    .addColumn('user_agent', 'varchar(512)')
    .execute()
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute()
  await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at').execute()

  // Security events. user_id survives the user's deletion as null; username is kept as written
  // so a deleted account's history still reads.
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('event', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('username', 'varchar(150)')
    .addColumn('address', 'varchar(64)')
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute()
  await db.schema.createIndex('audit_events_created_idx').on('audit_events').column('created_at').execute()
  await db.schema.createIndex('audit_events_user_idx').on('audit_events').columns(['user_id', 'id']).execute()
  await db.schema.createIndex('audit_events_event_idx').on('audit_events').columns(['event', 'id']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_events').ifExists().execute()
  await db.schema.dropTable('sessions').ifExists().execute()
  await db.schema.alterTable('users').dropColumn('token_epoch').execute()
}
