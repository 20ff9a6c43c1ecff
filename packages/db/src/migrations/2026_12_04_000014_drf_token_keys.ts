import type { Kysely } from 'kysely'
import { sql } from 'kysely'

/**
 * Issue 16, item 14: DRF's TokenAuthentication key, one per user and the same on every login.
 *
 * - users.drf_key_nonce: a random value the user's DRF key is derived from (with SECRET_KEY, in
 *   @gatehouse/auth's tokens/drf-token.ts); replacing it revokes the key. Random rather than a
 *   counter because a user id can come back (`importusers` keeps ids where they are free), and a
 *   counter starting at 0 again would derive the key of the user who had that id before.
 * - Default keys made before (`<24 hex>.<64 hex>`, a new one per login) stay valid until revoked,
 *   as plain keys named "default": the default slot is the derived key's from now on.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('drf_key_nonce', 'uuid', (c) => c.notNull().defaultTo(sql`gen_random_uuid()`))
    .execute()
  await db.updateTable('api_tokens').set({ is_default: false }).where('is_default', '=', true).execute()
}

/** The derived keys cannot be told apart from the others afterwards: they stay, as named keys. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('drf_key_nonce').execute()
}
