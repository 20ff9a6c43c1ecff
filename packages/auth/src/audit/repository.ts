/**
 * Reading and pruning the audit log. Listing is newest first with keyset pagination on id: one
 * query per page at any depth, served by the (user_id, id), (username, id) and (event, id)
 * indexes when filtered.
 */
import type { AuditEvent, Db } from '@gatehouse/db'

import type { AuditEventName } from './audit.js'

// Not exported on purpose: the SDK's published declarations then spell the event names out
// rather than refer to @gatehouse/auth, which a client does not have.
type EventName = AuditEventName

/** One event as an administrator sees it. */
export interface AuditEntry {
  id: number
  /** When it happened, ISO 8601. */
  at: string
  event: EventName
  userId: number | null
  username: string | null
  address: string | null
  userAgent: string | null
  detail: Record<string, unknown>
}

export interface ListAuditEventsOptions {
  event?: AuditEventName | undefined
  userId?: number | undefined
  username?: string | undefined
  /** The `nextCursor` of the previous page: events older than this id. */
  cursor?: number | undefined
  limit: number
}

function toAuditEntry(row: AuditEvent): AuditEntry {
  return {
    id: row.id,
    at: row.created_at.toISOString(),
    event: row.event as AuditEventName,
    userId: row.user_id,
    username: row.username,
    address: row.address,
    userAgent: row.user_agent,
    detail: row.detail,
  }
}

/**
 * @example
 * const page = await listAuditEvents(db, { event: 'login.failed', limit: 50 })
 * const older = await listAuditEvents(db, { event: 'login.failed', cursor: page.nextCursor, limit: 50 })
 */
export async function listAuditEvents(
  db: Db,
  opts: ListAuditEventsOptions,
): Promise<{ items: AuditEntry[]; nextCursor: number | null }> {
  let query = db
    .selectFrom('audit_events')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(opts.limit + 1)
  if (opts.cursor !== undefined) query = query.where('id', '<', opts.cursor)
  if (opts.event !== undefined) query = query.where('event', '=', opts.event)
  if (opts.userId !== undefined) query = query.where('user_id', '=', opts.userId)
  if (opts.username !== undefined) query = query.where('username', '=', opts.username)
  const rows = await query.execute()
  const items = rows.slice(0, opts.limit).map(toAuditEntry)
  return { items, nextCursor: rows.length > opts.limit ? (items.at(-1)?.id ?? null) : null }
}

/** Deletes events that happened before `cutoff`. Returns how many went. */
export async function deleteAuditEventsBefore(db: Db, cutoff: Date): Promise<number> {
  const result = await db.deleteFrom('audit_events').where('created_at', '<', cutoff).executeTakeFirst()
  return Number(result.numDeletedRows)
}
