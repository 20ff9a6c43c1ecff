/** Expired OAuth records (codes, tokens, grants, sessions) go at most once per interval, in the background. */
import type { Db } from '@gatehouse/db'

import { pruneOAuthPayloads } from './adapter.js'

const PRUNE_INTERVAL_MS = 10 * 60_000

/** A function to call on every OAuth request: it starts a prune when the last is an interval old. */
export function createPruner(db: Db, onError: (error: unknown) => void): () => void {
  let lastPrune = 0
  return function prune() {
    const now = Date.now()
    if (now - lastPrune < PRUNE_INTERVAL_MS) return
    lastPrune = now
    pruneOAuthPayloads(db).catch(onError)
  }
}
