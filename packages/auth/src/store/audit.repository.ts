/**
 * The audit log's rows: written by the recorder (audit/audit.ts), read by the listing
 * (audit/list.ts), pruned by age.
 */
import type { AuditEvent, Db } from '@gatehouse/db'

import type { AuditRow } from '../audit/events.js'

/**
 * Inserts rows in one statement, each with its user's current username filled in by the INSERT
 * where it has none (so every event of a user lists under their name at no extra round trip).
 */
export async function insertAuditEvents(db: Db, rows: readonly AuditRow[]): Promise<void> {
  await db
    .insertInto('audit_events')
    .values(
      rows.map((values) => ({
        ...values,
        username:
          values.username ??
          (values.user_id != null ? db.selectFrom('users').select('username').where('id', '=', values.user_id) : null),
      })),
    )
    .execute()
}

/**
 * Up to `limit` events, newest first, older than `beforeId` when given: one query per page at any
 * depth, served by the (user_id, id), (username, id) and (event, id) indexes when filtered.
 */
export async function findAuditEvents(
  db: Db,
  opts: {
    beforeId?: number | undefined
    event?: string | undefined
    userId?: number | undefined
    username?: string | undefined
    limit: number
  },
): Promise<AuditEvent[]> {
  let query = db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(opts.limit)
  if (opts.beforeId !== undefined) query = query.where('id', '<', opts.beforeId)
  if (opts.event !== undefined) query = query.where('event', '=', opts.event)
  if (opts.userId !== undefined) query = query.where('user_id', '=', opts.userId)
  if (opts.username !== undefined) query = query.where('username', '=', opts.username)
  return query.execute()
}

/** Deletes events that happened before `cutoff`. Returns how many went. */
export async function deleteAuditEventsBefore(db: Db, cutoff: Date): Promise<number> {
  const result = await db.deleteFrom('audit_events').where('created_at', '<', cutoff).executeTakeFirst()
  return Number(result.numDeletedRows)
}
