/**
 * The invalidation bus: one LISTEN connection per process on the `gatehouse_auth` channel, fed by
 * the triggers of migration 000010 whenever a credential's rows change, whoever changes them.
 *
 * The caches (auth-cache.ts) may serve only while the bus is `live`: connected, listening, and
 * answering its own heartbeat. Losing any of that flushes them and they fall back to reading the
 * database on every request until the bus is back, so a lost notification can never leave a
 * revoked credential working.
 *
 * Postgres delivers notifications to a listener in commit order, and a session hears its own. So
 * `sync()` — a NOTIFY sent on the listening connection, waited for until it comes back — returns
 * once every change committed before it has reached this process's caches.
 */
import type { Db, ListenClient, ListenNotification } from '@gatehouse/db'
import { createListenClient } from '@gatehouse/db'

export const AUTH_CHANNEL = 'gatehouse_auth'

export interface InvalidationBusOptions {
  db: Db
  /** One change, e.g. `u:12`, `s:<id>`, `t:<id>`, `keys`, `all` (see the migration). */
  onChange(what: string): void
  /**
   * The bus came up (true) or went down (false). Either way everything cached may be stale: the
   * cache drops it all, and serves again only while live.
   */
  onLive(live: boolean): void
  /** How often the bus proves it still hears its own notifications. @default 5000 */
  heartbeatMs?: number | undefined
  /** A connection problem, for the operator's log; the bus reconnects by itself. */
  onError?: ((error: unknown) => void) | undefined
}

interface SyncRound {
  nonce: number
  waiters: (() => void)[]
}

const MAX_BACKOFF_MS = 5000

export class InvalidationBus {
  readonly #opts: InvalidationBusOptions
  readonly #heartbeatMs: number
  /** The connection being opened or in use; events from any other are stale. */
  #attempt: ListenClient | null = null
  /** Set once listening. */
  #client: ListenClient | null = null
  #prefix = ''
  #live = false
  #closed = false
  #backoffMs = 100
  #nonce = 0
  #inFlight: SyncRound | null = null
  #waiting: (() => void)[] = []
  #heartbeat: NodeJS.Timeout | null = null
  #reconnect: NodeJS.Timeout | null = null
  #lastEcho = 0

  constructor(opts: InvalidationBusOptions) {
    this.#opts = opts
    this.#heartbeatMs = opts.heartbeatMs ?? 5000
  }

  /** Whether the caches may serve: connected, listening, and heard from within two heartbeats. */
  get live(): boolean {
    return this.#live
  }

  /** The server process id of the LISTEN connection (tests terminate it); null while down. */
  get backendPid(): number | null {
    // node-postgres sets processID from BackendKeyData; its types leave it out.
    const client = this.#client as unknown as { processID?: number } | null
    return client?.processID ?? null
  }

  /** Connects and listens. Resolves either way: a bus that could not connect retries in the background. */
  async start(): Promise<void> {
    await this.#connect()
  }

  /**
   * Resolves once every change committed before this call has been applied here. Concurrent calls
   * share one round trip. When the bus is down it resolves at once: nothing is cached then.
   */
  sync(): Promise<void> {
    if (!this.#live) return Promise.resolve()
    return new Promise((resolve) => {
      this.#waiting.push(resolve)
      this.#sendRound()
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    const client = this.#attempt
    this.#down()
    if (this.#reconnect) clearTimeout(this.#reconnect)
    await client?.end().catch(() => undefined)
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const client = createListenClient(this.#opts.db)
    if (!client) return // a Kysely instance createDb did not make: no caching
    this.#attempt = client
    client.on('error', (error) => this.#fail(client, error))
    client.on('end', () => this.#fail(client, new Error('the LISTEN connection closed')))
    client.on('notification', (message) => this.#receive(client, message))
    try {
      await client.connect()
      const { rows } = await client.query<{ schema: string }>('select current_schema() as schema')
      this.#prefix = `${rows[0]?.schema ?? 'public'}|`
      await client.query(`LISTEN ${AUTH_CHANNEL}`)
    } catch (error) {
      this.#fail(client, error)
      return
    }
    if (this.#closed || client !== this.#attempt) {
      await client.end().catch(() => undefined)
      return
    }
    this.#client = client
    this.#backoffMs = 100
    this.#live = true
    this.#opts.onLive(true)
    this.#lastEcho = performance.now()
    this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatMs)
    this.#heartbeat.unref()
  }

  #beat(): void {
    if (performance.now() - this.#lastEcho > 2 * this.#heartbeatMs) {
      this.#fail(this.#attempt, new Error('the LISTEN connection stopped answering its heartbeat'))
      return
    }
    void this.sync()
  }

  #sendRound(): void {
    const client = this.#client
    if (this.#inFlight || this.#waiting.length === 0 || !client) return
    const round: SyncRound = { nonce: ++this.#nonce, waiters: this.#waiting }
    this.#waiting = []
    this.#inFlight = round
    client
      .query('select pg_notify($1, $2)', [AUTH_CHANNEL, `${this.#prefix}sync:${round.nonce}`])
      .catch((error: unknown) => this.#fail(client, error))
  }

  #receive(client: ListenClient, message: ListenNotification): void {
    if (client !== this.#client || message.channel !== AUTH_CHANNEL || !message.payload?.startsWith(this.#prefix)) return
    const what = message.payload.slice(this.#prefix.length)
    this.#lastEcho = performance.now()
    if (what.startsWith('sync:')) {
      const round = this.#inFlight
      if (round && what === `sync:${round.nonce}`) {
        this.#inFlight = null
        for (const resolve of round.waiters) resolve()
        this.#sendRound()
      }
      return
    }
    this.#opts.onChange(what)
  }

  #fail(client: ListenClient | null, error: unknown): void {
    if (this.#closed || client !== this.#attempt) {
      client?.end().catch(() => undefined)
      return
    }
    this.#attempt = null
    this.#opts.onError?.(error)
    this.#down()
    client?.end().catch(() => undefined)
    const delay = this.#backoffMs
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS)
    this.#reconnect = setTimeout(() => void this.#connect(), delay)
    this.#reconnect.unref()
  }

  /** Not live any more: drop everything cached and release whoever waits on a sync. */
  #down(): void {
    const wasLive = this.#live
    this.#live = false
    if (this.#heartbeat) clearInterval(this.#heartbeat)
    this.#heartbeat = null
    this.#client = null
    if (this.#closed) this.#attempt = null
    if (!this.#closed || wasLive) this.#opts.onLive(false)
    const waiters = [...(this.#inFlight?.waiters ?? []), ...this.#waiting]
    this.#inFlight = null
    this.#waiting = []
    for (const resolve of waiters) resolve()
  }
}
