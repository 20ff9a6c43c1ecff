/**
 * The audit log: security events in Postgres, typed, shared by every process. A write is
 * committed before `record` returns, and never fails the request that caused it (a lost audit row
 * must not turn a login into a 500); the failure goes to `onError` instead. Rows recorded while
 * the recorder's previous INSERT is in flight go in the next one together (group commit: one
 * commit for many refusals under load, docs/performance.md "Stop 13"). Old events are pruned in
 * the background, at most once an hour per recorder, never on a request's path.
 */
import type { Db } from '@gatehouse/db'

import type { Clock } from '../clock.js'
import type { AuditEventName, AuditRow } from './events.js'
import { GroupCommit } from '../group-commit.js'
import { deleteAuditEventsBefore, insertAuditEvents } from '../store/audit.repository.js'

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

export interface AuditRecorder {
  (input: AuditInput): Promise<void>
  /**
   * The row `record(input)` would insert, for a caller that writes it inside its own statement
   * (the refresh rotation: one commit instead of two); it then calls `written()`. The caller fills
   * in `username` from `user_id` when it is null, as `record` does.
   */
  row(input: AuditInput): AuditRow
  /** After a row from `row()` was committed: the recorder's own housekeeping (pruning). */
  written(): void
}

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

  function row(input: AuditInput, now: Date): AuditRow {
    return {
      created_at: now,
      event: input.event,
      user_id: input.userId ?? null,
      username: input.username != null ? input.username.slice(0, 150) : null,
      address: input.address?.slice(0, 64) ?? null,
      user_agent: input.userAgent?.slice(0, 512) ?? null,
      detail: JSON.stringify(input.detail ?? {}),
    }
  }

  function written(now: Date) {
    if (retentionMs !== null && claimPrune(now.getTime())) {
      // Housekeeping off the request's path; a failure just waits for the next claim.
      deleteAuditEventsBefore(db, new Date(now.getTime() - retentionMs)).catch((error: unknown) =>
        opts.onError?.(error),
      )
    }
  }

  const inserts = new GroupCommit((rows: AuditRow[]) => insertRows(db, rows))

  async function record(input: AuditInput) {
    const now = clock()
    try {
      const failure = await inserts.add(row(input, now))
      if (failure) opts.onError?.(failure.error)
    } catch (error) {
      opts.onError?.(error)
    }
    written(now)
  }
  return Object.assign(record, {
    row: (input: AuditInput) => row(input, clock()),
    written: () => written(clock()),
  })
}

/**
 * Inserts rows in one statement, each with its user's current username filled in by the INSERT
 * where it has none; answers, per row, null or why it was not written. One bad row (its user
 * deleted meanwhile: the foreign key) must not lose the others, so a failed batch is retried row
 * by row and only the bad row's write fails.
 */
async function insertRows(db: Db, rows: AuditRow[]): Promise<({ error: unknown } | null)[]> {
  const insert = (batch: AuditRow[]) => insertAuditEvents(db, batch)
  try {
    await insert(rows)
    return rows.map(() => null)
  } catch (error) {
    if (rows.length === 1) return [{ error }]
  }
  // One at a time, so even this rare path holds a single pooled connection.
  const failures: ({ error: unknown } | null)[] = []
  for (const one of rows)
    failures.push(
      await insert([one]).then(
        () => null,
        (error: unknown) => ({ error }),
      ),
    )
  return failures
}
