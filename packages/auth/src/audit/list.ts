/**
 * Reading the audit log, as an administrator sees it: newest first, with keyset pagination on id
 * (store/audit.repository.ts's findAuditEvents).
 */
import type { AuditEvent, Db } from '@gatehouse/db'

import type { AuditEventName } from './events.js'
import { findAuditEvents } from '../store/audit.repository.js'

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
  // One more than a page: whether there is a next one.
  const rows = await findAuditEvents(db, {
    beforeId: opts.cursor,
    event: opts.event,
    userId: opts.userId,
    username: opts.username,
    limit: opts.limit + 1,
  })
  const items = rows.slice(0, opts.limit).map(toAuditEntry)
  return { items, nextCursor: rows.length > opts.limit ? (items.at(-1)?.id ?? null) : null }
}
