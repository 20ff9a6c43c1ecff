import type { Db } from '@gatehouse/db'
import { sql } from 'kysely'

export interface CounterHits {
  key: string
  windowStart: Date
  expiresAt: Date
  /** How many hits to add. */
  by: number
}

/**
 * Counts one hit in a window and returns the window's total. One statement, so concurrent hits
 * from any number of processes each see a distinct total and none is lost.
 */
export async function incrementCounter(
  db: Db,
  counter: { key: string; windowStart: Date; expiresAt: Date },
): Promise<number> {
  const [hits] = await incrementCounters(db, [{ ...counter, by: 1 }])
  if (hits === undefined) throw new Error('incrementCounter: the upsert returned no row')
  return hits
}

/**
 * Adds hits to several distinct counters in one statement and returns each one's new total, in
 * the order given. The statement is atomic per row, so totals from every process interleave without loss:
 * a counter that gains n here owns the n totals ending at the one returned.
 *
 * It commits asynchronously (`synchronous_commit` off for this statement's own transaction): the
 * counts are visible to every other session at once, as always, but the statement does not wait for
 * its WAL record to reach the disk. A per-request throttle would otherwise make every authenticated
 * request wait for a WAL flush (docs/performance.md, "Stop 12"). What a Postgres crash can lose is
 * the last fraction of a second of counts, which DRF, counting in a cache, loses on any restart.
 */
export async function incrementCounters(db: Db, counters: readonly CounterHits[]): Promise<number[]> {
  if (counters.length === 0) return []
  // Rows are locked in (key, window_start) order whatever the caller's order, so two processes
  // adding to the same counters cannot deadlock.
  const ids = new Set(counters.map((c) => counterId(c.key, c.windowStart)))
  if (ids.size < counters.length) throw new TypeError('incrementCounters: each counter may appear once')
  const rows = sql.join(
    counters.map(
      (c) => sql`(${c.key}::varchar, ${c.windowStart}::timestamptz, ${c.by}::int, ${c.expiresAt}::timestamptz)`,
    ),
  )
  // set_config(…, true) lasts until the end of the transaction: inside a caller's transaction it
  // would relax that whole commit, so there the counts commit as the caller's transaction does.
  const relaxed = db.isTransaction ? sql`` : sql`, (select set_config('synchronous_commit', 'off', true)) as relaxed`
  const { rows: totals } = await sql<{ key: string; window_start: Date; hits: number }>`
    insert into throttle_counters (key, window_start, hits, expires_at)
    select v.key, v.window_start, v.hits, v.expires_at
    from (values ${rows}) as v (key, window_start, hits, expires_at)${relaxed}
    order by v.key, v.window_start
    on conflict (key, window_start) do update set hits = throttle_counters.hits + excluded.hits
    returning key, window_start, hits`.execute(db)
  const byId = new Map(totals.map((row) => [counterId(row.key, new Date(row.window_start)), row.hits]))
  return counters.map((c) => {
    const hits = byId.get(counterId(c.key, c.windowStart))
    if (hits === undefined) throw new Error('incrementCounters: the upsert returned no row for a counter')
    return hits
  })
}

/** One counter's identity, (key, window_start), as a map key: what a batch groups hits by. */
export const counterId = (key: string, windowStart: Date) => `${windowStart.getTime()}:${key}`

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
