/**
 * The invalidation bus: one LISTEN connection per process on the `gatehouse_auth` channel, fed by
 * the triggers of migration 000010 whenever a credential's rows change, whoever changes them.
 *
 * The caches (auth-cache.ts) may serve only while the bus is `live`: connected, listening, and
 * answering its own heartbeat. Losing any of that flushes them and they fall back to reading the
 * database on every request until the bus is back, so a lost notification can never leave a
 * revoked credential working.
 *
 * A connection can die without closing (a peer gone behind a NAT or a failover: no FIN, no RST),
 * and then notifications simply stop. So every heartbeat (a NOTIFY to itself, every `heartbeatMs`)
 * must come back within `heartbeatMs`: the moment one is overdue the bus is down, the caches are
 * emptied, and it reconnects. TCP keepalive is on as well, so the kernel gives up on a dead peer
 * of an idle connection too.
 *
 * Postgres delivers notifications to a listener in commit order, and a session hears its own. So
 * `sync()` — a NOTIFY sent on the listening connection, waited for until it comes back — returns
 * once every change committed before it has reached this process's caches.
 */
import type { Db, ListenClient, ListenNotification } from '@gatehouse/db'
import { createListenClient } from '@gatehouse/db'

export const AUTH_CHANNEL = 'gatehouse_auth'

/** The timers behind the heartbeat, its deadline and reconnection (tests move time by hand). */
export interface BusTimers {
  setTimeout(run: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Node's timers, unref'd: the bus never keeps a process alive. */
const NODE_TIMERS: BusTimers = {
  setTimeout(run, ms) {
    const timer = setTimeout(run, ms)
    timer.unref()
    return timer
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}

export interface InvalidationBusOptions {
  db: Db
  /** One change, e.g. `u:12`, `s:<id>`, `t:<id>`, `keys`, `all` (see the migration). */
  onChange(what: string): void
  /**
   * The bus came up (true) or went down (false). Either way everything cached may be stale: the
   * cache drops it all, and serves again only while live.
   */
  onLive(live: boolean): void
  /**
   * How often the bus proves it still hears its own notifications, and how long each proof may
   * take: a heartbeat not back within it means the connection is dead. @default 5000
   */
  heartbeatMs?: number | undefined
  /** A connection problem, for the operator's log; the bus reconnects by itself. */
  onError?: ((error: unknown) => void) | undefined
  /** Opens the LISTEN connection. @default createListenClient(db), with TCP keepalive */
  listenClient?: (() => ListenClient | undefined) | undefined
  /** @default Node's timers, unref'd */
  timers?: BusTimers | undefined
}

interface SyncRound {
  nonce: number
  waiters: (() => void)[]
}

const MAX_BACKOFF_MS = 5000

export class InvalidationBus {
  readonly #opts: InvalidationBusOptions
  readonly #heartbeatMs: number
  readonly #timers: BusTimers
  readonly #listenClient: () => ListenClient | undefined
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
  /** The next heartbeat, while live and none is out. */
  #beatTimer: unknown = null
  /** The moment the heartbeat that is out becomes overdue. */
  #deadline: unknown = null
  #reconnect: unknown = null

  constructor(opts: InvalidationBusOptions) {
    this.#opts = opts
    this.#heartbeatMs = opts.heartbeatMs ?? 5000
    this.#timers = opts.timers ?? NODE_TIMERS
    // Keepalive probes start after a heartbeat's worth of silence: a dead peer of an idle
    // connection is noticed by the kernel as well as by the heartbeat.
    const keepAlive = { keepAlive: true, keepAliveInitialDelayMillis: this.#heartbeatMs }
    this.#listenClient = opts.listenClient ?? (() => createListenClient(opts.db, keepAlive))
  }

  /** Whether the caches may serve: connected, listening, and no heartbeat overdue. */
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
    if (this.#reconnect !== null) this.#timers.clearTimeout(this.#reconnect)
    await client?.end().catch(() => undefined)
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const client = this.#listenClient()
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
    this.#beatTimer = this.#timers.setTimeout(() => this.#beat(), this.#heartbeatMs)
  }

  /**
   * One heartbeat: a round through Postgres (queued behind any round already out) that must come
   * back within `heartbeatMs`, else the connection is taken for dead at that very moment. The
   * next one goes out a heartbeat after this one came back.
   */
  #beat(): void {
    this.#beatTimer = null
    const client = this.#client
    if (!client) return
    this.#deadline = this.#timers.setTimeout(() => {
      this.#deadline = null
      this.#fail(client, new Error(`the LISTEN connection did not answer its heartbeat within ${this.#heartbeatMs} ms`))
    }, this.#heartbeatMs)
    void this.sync().then(() => {
      if (client !== this.#client) return // the bus went down meanwhile, and cleared the deadline
      if (this.#deadline !== null) this.#timers.clearTimeout(this.#deadline)
      this.#deadline = null
      this.#beatTimer = this.#timers.setTimeout(() => this.#beat(), this.#heartbeatMs)
    })
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
    if (client !== this.#client || message.channel !== AUTH_CHANNEL || !message.payload?.startsWith(this.#prefix))
      return
    const what = message.payload.slice(this.#prefix.length)
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
    this.#reconnect = this.#timers.setTimeout(() => {
      this.#reconnect = null
      void this.#connect()
    }, delay)
  }

  /** Not live any more: drop everything cached and release whoever waits on a sync. */
  #down(): void {
    const wasLive = this.#live
    this.#live = false
    for (const timer of [this.#beatTimer, this.#deadline]) if (timer !== null) this.#timers.clearTimeout(timer)
    this.#beatTimer = null
    this.#deadline = null
    this.#client = null
    if (this.#closed) this.#attempt = null
    if (!this.#closed || wasLive) this.#opts.onLive(false)
    const waiters = [...(this.#inFlight?.waiters ?? []), ...this.#waiting]
    this.#inFlight = null
    this.#waiting = []
    for (const resolve of waiters) resolve()
  }
}
