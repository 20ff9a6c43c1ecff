/**
 * The audit log's vocabulary: its event names and the row an event is written as. Types and
 * constants only, so the recorder (audit.ts), the listing (list.ts) and the repositories that
 * write events (store/) share them without importing one another.
 */

export const AUDIT_EVENTS = [
  'login.succeeded',
  'login.failed',
  'token.refreshed',
  'token.reuse_detected',
  'logout',
  'logout.everywhere',
  'api_token.created',
  'api_token.revoked',
  'session.created',
  'session.revoked',
  'oauth_app.revoked',
  'permission.denied',
  'password.changed',
] as const
export type AuditEventName = (typeof AUDIT_EVENTS)[number]

/** One `audit_events` row as `record` would insert it; `username` null means "the user's own". */
export interface AuditRow {
  created_at: Date
  event: AuditEventName
  user_id: number | null
  username: string | null
  address: string | null
  user_agent: string | null
  /** The detail as JSON text. */
  detail: string
}
