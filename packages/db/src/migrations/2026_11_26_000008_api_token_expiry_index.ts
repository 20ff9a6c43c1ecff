import type { Kysely } from 'kysely'

// Self-pruning deletes expired API keys every few minutes; without this index each pass would
// scan every key. Partial: keys that never expire are never pruned.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('api_tokens_expires_idx')
    .on('api_tokens')
    .column('expires_at')
    .where('expires_at', 'is not', null)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('api_tokens_expires_idx').ifExists().execute()
}
