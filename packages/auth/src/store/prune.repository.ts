/** What a prune deletes (maintenance/prune.ts): every row past its expiry, each table at once. */
import type { Db } from '@gatehouse/db'

/** Deletes every row that expired before `now`; returns how many went from each table. */
export async function deleteExpiredRows(
  db: Db,
  now: Date,
): Promise<{ tokens: number; families: number; sessions: number; apiTokens: number }> {
  const [tokens, families, sessions, apiTokens] = await Promise.all([
    db.deleteFrom('outstanding_tokens').where('expires_at', '<', now).executeTakeFirst(),
    // A family's row outlives none of its tokens (expires_at is its latest one's).
    db.deleteFrom('token_families').where('expires_at', '<', now).executeTakeFirst(),
    db.deleteFrom('sessions').where('expires_at', '<', now).executeTakeFirst(),
    // A key without expires_at never expires (null is not < now).
    db.deleteFrom('api_tokens').where('expires_at', '<', now).executeTakeFirst(),
  ])
  return {
    tokens: Number(tokens.numDeletedRows),
    families: Number(families.numDeletedRows),
    sessions: Number(sessions.numDeletedRows),
    apiTokens: Number(apiTokens.numDeletedRows),
  }
}
