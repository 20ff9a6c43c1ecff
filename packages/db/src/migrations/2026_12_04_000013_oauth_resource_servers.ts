import type { Kysely } from 'kysely'

// A resource server (an API that checks the tokens presented to it) may introspect any token at
// /oauth/token/introspection; every other client is told nothing there (RFC 7662 §4). Existing
// clients are not resource servers: an operator marks the ones that are.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('oauth_clients')
    .addColumn('resource_server', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('oauth_clients').dropColumn('resource_server').execute()
}
