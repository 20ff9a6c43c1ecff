/**
 * The audit log: security events in Postgres, typed, shared by every process. Writes are one
 * INSERT each and never fail the request that caused them (a lost audit row must not turn a
 * login into a 500); the failure goes to `onError` instead. Old events are pruned in the
 * background, at most once an hour per recorder, never on a request's path.
 */
import type { Db } from '@gatehouse/db'

import type { Clock } from '../clock.js'
import { deleteAuditEventsBefore } from './repository.js'

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
  /**
   * As the caller named themselves (a failed login's username). Left out with a `userId`, the
   * user's current username is filled in by the same INSERT, so every event of a user lists
   * under their name at no extra round trip.
   */
  username?: string | null | undefined
  /** Event-specific facts (the token id, the procedure path); never a secret. */
  detail?: Record<string, unknown> | undefined
}

export interface AuditRecorderOptions {
  db: Db
  clock: Clock
  /** Where a failed write or prune is reported. @default nowhere */
  onError?: ((error: unknown) => void) | undefined
  /**
   * How long events are kept, in seconds; older ones are deleted in the background, at most once
   * an hour per recorder. `null` keeps them forever.
   * @default null
   */
  retentionSeconds?: number | null | undefined
}

export type AuditRecorder = (input: AuditInput) => Promise<void>

const PRUNE_INTERVAL_MS = 3_600_000

export function createAuditRecorder(opts: AuditRecorderOptions): AuditRecorder {
  const { db, clock } = opts
  const retentionMs = opts.retentionSeconds ? opts.retentionSeconds * 1000 : null
  let lastPruneMs = Number.NEGATIVE_INFINITY

  /** True at most once an hour (and again if the clock went back): the caller prunes. */
  function claimPrune(nowMs: number): boolean {
    if (nowMs - lastPruneMs < PRUNE_INTERVAL_MS && nowMs >= lastPruneMs) return false
    lastPruneMs = nowMs
    return true
  }

  return async function record(input) {
    const now = clock()
    try {
      const { userId } = input
      await db
        .insertInto('audit_events')
        .values((eb) => ({
          created_at: now,
          event: input.event,
          user_id: userId ?? null,
          username:
            input.username != null
              ? input.username.slice(0, 150)
              : userId != null
                ? eb.selectFrom('users').select('username').where('id', '=', userId)
                : null,
          address: input.address?.slice(0, 64) ?? null,
          user_agent: input.userAgent?.slice(0, 512) ?? null,
          detail: JSON.stringify(input.detail ?? {}),
        }))
        .execute()
    } catch (error) {
      opts.onError?.(error)
    }
    if (retentionMs !== null && claimPrune(now.getTime())) {
      // Housekeeping off the request's path; a failure just waits for the next claim.
      deleteAuditEventsBefore(db, new Date(now.getTime() - retentionMs)).catch((error: unknown) =>
        opts.onError?.(error),
      )
    }
  }
}
