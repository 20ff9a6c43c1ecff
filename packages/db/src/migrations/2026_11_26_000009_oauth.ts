import type { Kysely } from 'kysely'
import { sql } from 'kysely'

// Issue 7: the OAuth 2 / OpenID Connect authorization server (oidc-provider) keeps its clients
// and everything it issues here, so every process sees the same codes, tokens and grants.
export async function up(db: Kysely<any>): Promise<void> {
  // Registered applications (DOT's oauth2_provider_application). The secret is stored as its
  // SHA-256 (hex) only; null marks a public client. Each client acts, under client_credentials,
  // as its own service user (`client:<id>`), whose permissions are granted like anyone's; deleting
  // that user deletes the client.
  await db.schema
    .createTable('oauth_clients')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(150)', (c) => c.notNull())
    .addColumn('secret_hash', 'varchar(64)')
    .addColumn('redirect_uris', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('grant_types', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('scopes', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('public', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('service_user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // oidc-provider's models (AccessToken, AuthorizationCode, RefreshToken, Grant, Interaction,
  // Session, ClientCredentials, …), one row each, as its adapter interface wants them.
  await db.schema
    .createTable('oauth_payloads')
    .addColumn('model', 'varchar(64)', (c) => c.notNull())
    .addColumn('id', 'varchar(255)', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('grant_id', 'varchar(255)')
    .addColumn('user_code', 'varchar(255)')
    .addColumn('uid', 'varchar(255)')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('consumed_at', 'timestamptz')
    .addPrimaryKeyConstraint('oauth_payloads_pk', ['model', 'id'])
    .execute()
  await db.schema.createIndex('oauth_payloads_grant_idx').on('oauth_payloads').column('grant_id').execute()
  await db.schema.createIndex('oauth_payloads_uid_idx').on('oauth_payloads').column('uid').execute()
  await db.schema.createIndex('oauth_payloads_user_code_idx').on('oauth_payloads').column('user_code').execute()
  await db.schema.createIndex('oauth_payloads_expires_idx').on('oauth_payloads').column('expires_at').execute()

  // Managing clients is a model permission (Django admin's on DOT's Application); superusers hold them.
  await db
    .insertInto('permissions')
    .values(
      ['add', 'change', 'delete', 'view'].map((action) => ({
        codename: `${action}_oauthclient`,
        resource: 'oauthclient',
        name: `Can ${action} OAuth client`,
      })),
    )
    .onConflict((oc) => oc.column('codename').doNothing())
    .execute()

  // Server-side secrets generated once and shared by every process (the provider's cookie keys).
  await db.schema
    .createTable('oauth_secrets')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('permissions').where('resource', '=', 'oauthclient').execute()
  await db.schema.dropTable('oauth_secrets').ifExists().execute()
  await db.schema.dropTable('oauth_payloads').ifExists().execute()
  await db.schema.dropTable('oauth_clients').ifExists().execute()
}
