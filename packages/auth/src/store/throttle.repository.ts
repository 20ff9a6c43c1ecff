import type { Db } from '@gatehouse/db'

/**
 * Counts one hit in a window and returns the window's total. One statement, so concurrent hits
 * from any number of processes each see a distinct total and none is lost.
 */
export async function incrementCounter(
  db: Db,
  counter: { key: string; windowStart: Date; expiresAt: Date },
): Promise<number> {
  const row = await db
    .insertInto('throttle_counters')
    .values({ key: counter.key, window_start: counter.windowStart, hits: 1, expires_at: counter.expiresAt })
    .onConflict((oc) =>
      oc.columns(['key', 'window_start']).doUpdateSet((eb) => ({ hits: eb('throttle_counters.hits', '+', 1) })),
    )
    .returning('hits')
    .executeTakeFirstOrThrow()
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
