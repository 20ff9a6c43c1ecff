import type { Db } from '@gatehouse/db'
import { sql } from 'kysely'

/**
 * Counts one hit in a window and returns the window's total. One statement, so concurrent hits
 * from any number of processes each see a distinct total and none is lost.
 *
 * It commits asynchronously (`synchronous_commit` off for this statement's own transaction): the
 * count is visible to every other session at once, as always, but the statement does not wait for
 * its WAL record to reach the disk. A per-request throttle would otherwise make every authenticated
 * request wait for a WAL flush (docs/performance.md, "Stop 12"). What a Postgres crash can lose is
 * the last fraction of a second of counts, which DRF, counting in a cache, loses on any restart.
 */
export async function incrementCounter(
  db: Db,
  counter: { key: string; windowStart: Date; expiresAt: Date },
): Promise<number> {
  // set_config(…, true) lasts until the end of the transaction: inside a caller's transaction it
  // would relax that whole commit, so there the count commits as the caller's transaction does.
  const relaxed = db.isTransaction ? sql`` : sql`from (select set_config('synchronous_commit', 'off', true)) as relaxed`
  const { rows } = await sql<{ hits: number }>`
    insert into throttle_counters (key, window_start, hits, expires_at)
    select ${counter.key}::varchar, ${counter.windowStart}::timestamptz, 1, ${counter.expiresAt}::timestamptz
    ${relaxed}
    on conflict (key, window_start) do update set hits = throttle_counters.hits + 1
    returning hits`.execute(db)
  const row = rows[0]
  if (!row) throw new Error('incrementCounter: the upsert returned no row')
  return row.hits
}

/** The hits counted so far in a window; 0 when there is no row yet. */
export async function readCounter(db: Db, counter: { key: string; windowStart: Date }): Promise<number> {
  const row = await db
    .selectFrom('throttle_counters')
    .select('hits')
    .where('key', '=', counter.key)
    .where('window_start', '=', counter.windowStart)
    .executeTakeFirst()
  return row?.hits ?? 0
}

/** Deletes counters of windows that ended before `now`. Returns how many went. */
export async function deleteExpiredCounters(db: Db, now: Date): Promise<number> {
  const result = await db.deleteFrom('throttle_counters').where('expires_at', '<', now).executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** Gives back one hit counted by incrementCounter in the same window (a reservation not used). */
export async function decrementCounter(db: Db, counter: { key: string; windowStart: Date }): Promise<void> {
  await db
    .updateTable('throttle_counters')
    .set((eb) => ({ hits: eb('hits', '-', 1) }))
    .where('key', '=', counter.key)
    .where('window_start', '=', counter.windowStart)
    .where('hits', '>', 0)
    .execute()
}
