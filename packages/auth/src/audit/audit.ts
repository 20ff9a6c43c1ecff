/**
 * The audit log: security events in Postgres, typed, shared by every process. Writes are one
 * INSERT each and never fail the request that caused them (a lost audit row must not turn a
 * login into a 500); the failure goes to `onError` instead.
 */
import type { Db } from '@gatehouse/db'

import type { Clock } from '../clock.js'

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
  'permission.denied',
  'password.changed',
] as const
export type AuditEventName = (typeof AUDIT_EVENTS)[number]

/** Who did it and from where: what every request can tell about its caller. */
export interface RequestMeta {
  /** The client's address (the socket's peer). */
  address?: string | undefined
  /** The `User-Agent` header, cut to 512 characters. */
  userAgent?: string | undefined
}

export interface AuditInput extends RequestMeta {
  event: AuditEventName
  userId?: number | null | undefined
  username?: string | null | undefined
  /** Event-specific facts (the token id, the procedure path); never a secret. */
  detail?: Record<string, unknown> | undefined
}

export interface AuditRecorderOptions {
  db: Db
  clock: Clock
  /** Where a failed write is reported. @default nowhere */
  onError?: ((error: unknown) => void) | undefined
}

export type AuditRecorder = (input: AuditInput) => Promise<void>

export function createAuditRecorder(opts: AuditRecorderOptions): AuditRecorder {
  return async function record(input) {
    try {
      await opts.db
        .insertInto('audit_events')
        .values({
          created_at: opts.clock(),
          event: input.event,
          user_id: input.userId ?? null,
          username: input.username?.slice(0, 150) ?? null,
          address: input.address?.slice(0, 64) ?? null,
          user_agent: input.userAgent?.slice(0, 512) ?? null,
          detail: JSON.stringify(input.detail ?? {}),
        })
        .execute()
    } catch (error) {
      opts.onError?.(error)
    }
  }
}
