interface Waiting<T, R> {
  item: T
  resolve(result: R): void
  reject(error: unknown): void
}

/**
 * Group commit: writes that arrive while this process's previous write of the same kind is in
 * flight wait for it and then go to the database together, in one statement and one commit.
 * Under load that is one round trip per batch instead of one per request; a lone write waits for
 * no timer, it goes out as soon as nothing is in flight. At most one `send` runs at a time, so a
 * kind of write holds at most one pooled connection however heavy the load.
 *
 * Each `add` resolves with its own item's result (`send` answers for its items in order) or
 * rejects with `send`'s error.
 *
 * @example
 * const audit = new GroupCommit((rows: AuditRow[]) => insertAuditRows(db, rows))
 * await audit.add(row) // committed with whatever else arrived meanwhile
 */
export class GroupCommit<T, R> {
  readonly #send: (items: T[]) => Promise<R[]>
  #queue: Waiting<T, R>[] = []
  #running = false
  #sent = 0

  constructor(send: (items: T[]) => Promise<R[]>) {
    this.#send = send
  }

  /** Batches sent so far: what the grouping saved is visible in tests. */
  get batches(): number {
    return this.#sent
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (!this.#running) {
        this.#running = true
        // After the current task, so writes of one tRPC batch (one tick) share a statement.
        queueMicrotask(() => void this.#drain())
      }
    })
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue
      this.#queue = []
      this.#sent += 1
      try {
        const results = await this.#send(batch.map((w) => w.item))
        batch.forEach((w, i) => {
          const result = results[i]
          if (i < results.length) w.resolve(result as R)
          else w.reject(new Error('GroupCommit: the batch answered for fewer items than it was given'))
        })
      } catch (error) {
        for (const w of batch) w.reject(error)
      }
    }
    this.#running = false
  }
}
