/**
 * A Postgres wire-protocol server in front of one PGlite instance.
 *
 * Why not `PGLiteSocketServer` as it is: its queue interleaves connections message by message.
 * PGlite has a single backend session, so Parse from one connection followed by Parse from
 * another overwrites the unnamed statement before the first one's Bind ("unnamed prepared
 * statement does not exist"). Here each connection's messages are grouped into units that end at
 * Sync, Query, Flush or Terminate, and a unit runs whole. While PGlite is inside a transaction,
 * only units from the connection that opened it run, so transactions stay isolated too.
 *
 * Locks are per session in Postgres and PGlite has one session, so advisory and row locks do not
 * serialise connections here; the unit scheduler does that instead.
 *
 * LISTEN/NOTIFY: the one session hears every channel any connection listens on, and PGlite writes
 * a notification into the output of whichever connection's unit committed it. Here notifications
 * are taken out of that output and sent to the connections that ran `LISTEN channel` (the auth
 * cache's invalidation bus, cache/bus.ts in the auth package), as Postgres would deliver them.
 */
import type { Server, Socket } from 'node:net'
import { createServer } from 'node:net'

import type { PGlite } from '@electric-sql/pglite'

/** Postgres's MAX_STARTUP_PACKET_LENGTH: a startup packet (length word included) past it is refused. */
export const MAX_STARTUP_LENGTH = 10_000
/**
 * The longest regular message (the length word's value) a connection may send. Postgres allows
 * 1 GB; our clients are Gatehouse's own node-postgres pools on a local socket, whose largest
 * messages are a few hundred KB (a Bind of 500 imported user rows). 64 MiB leaves ample room, for
 * `psql` too, and caps what one connection can make the holder buffer.
 */
export const MAX_MESSAGE_LENGTH = 64 * 1024 * 1024
const STARTUP_HEADER = 8 // int32 length, int32 code
const MESSAGE_HEADER = 5 // type byte, int32 length
const SSL_REQUEST = 80_877_103
const PROTOCOL_3 = 196_608
// Message types after which the client waits for an answer.
const UNIT_END = new Set(['S', 'Q', 'H', 'c', 'f', 'F'])
const NOTIFICATION = 0x41 // 'A', NotificationResponse
const QUERY = 0x51 // 'Q', a simple query
const LISTEN = /^\s*(UN)?LISTEN\s+("?)([A-Za-z_][A-Za-z0-9_$]*|\*)\2\s*;?\s*$/i

interface Unit {
  conn: Connection
  messages: Uint8Array[]
}

interface Connection {
  id: number
  socket: Socket
  /** Bytes received and not parsed yet; joined only once they hold what `needed` asks for. */
  incoming: Buffer[]
  received: number
  /** The bytes the next step needs: a header, or a whole message once its header is in. */
  needed: number
  started: boolean
  pending: Uint8Array[]
  closed: boolean
  /** Channels this connection listens on (lower case, as Postgres folds unquoted names). */
  channels: Set<string>
}

export class PGliteServer {
  readonly #db: PGlite
  readonly #queue: Unit[] = []
  #running = false
  #owner: Connection | null = null
  #nextId = 1
  #server: Server | null = null
  readonly #connections = new Set<Connection>()

  constructor(db: PGlite) {
    this.#db = db
  }

  async listen(path: string): Promise<void> {
    const server = createServer((socket) => this.#accept(socket))
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => {
        server.off('error', reject)
        resolve()
      })
    })
  }

  async close(): Promise<void> {
    for (const conn of this.#connections) conn.socket.destroy()
    const server = this.#server
    this.#server = null
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
    // let a unit in flight finish before the caller closes PGlite
    while (this.#running) await new Promise((r) => setTimeout(r, 5))
  }

  #accept(socket: Socket): void {
    socket.setNoDelay(true)
    const conn: Connection = {
      id: this.#nextId++,
      socket,
      incoming: [],
      received: 0,
      needed: STARTUP_HEADER,
      started: false,
      pending: [],
      closed: false,
      channels: new Set(),
    }
    this.#connections.add(conn)
    socket.on('data', (chunk) => this.#receive(conn, chunk))
    socket.on('error', () => socket.destroy())
    socket.on('close', () => this.#drop(conn))
  }

  #receive(conn: Connection, chunk: Buffer): void {
    conn.incoming.push(chunk)
    conn.received += chunk.length
    // A long message arrives in many chunks: join them once, not once per chunk.
    if (conn.received < conn.needed) return
    const buffer = conn.incoming.length === 1 ? chunk : Buffer.concat(conn.incoming, conn.received)
    let offset = 0
    for (;;) {
      const header = conn.started ? MESSAGE_HEADER : STARTUP_HEADER
      const available = buffer.length - offset
      if (available < header) {
        conn.needed = header
        break
      }
      // The startup packet's length counts itself; a message's length counts itself, not its type byte.
      const length = conn.started ? 1 + buffer.readInt32BE(offset + 1) : buffer.readInt32BE(offset)
      const max = conn.started ? 1 + MAX_MESSAGE_LENGTH : MAX_STARTUP_LENGTH
      if (length < header || length > max) {
        // As Postgres ("invalid length of startup packet", "invalid message length"): this
        // connection ends, without an answer; a length under the header would never move on.
        conn.socket.destroy()
        return
      }
      if (available < length) {
        conn.needed = length
        break
      }
      const message = new Uint8Array(buffer.subarray(offset, offset + length))
      offset += length
      if (!(conn.started ? this.#message(conn, message) : this.#startup(conn, message))) return
    }
    const rest = buffer.subarray(offset)
    conn.incoming = rest.length > 0 ? [rest] : []
    conn.received = rest.length
  }

  /** Handles a packet before the session starts; false when the connection ends. */
  #startup(conn: Connection, message: Uint8Array): boolean {
    const code = Buffer.from(message.buffer, message.byteOffset, message.length).readInt32BE(4)
    if (code === SSL_REQUEST) {
      conn.socket.write('N') // no TLS on a local socket
      return true
    }
    if (code === PROTOCOL_3) {
      conn.started = true
      this.#enqueue({ conn, messages: [message] })
      return true
    }
    // cancellation is not supported (the cancel connection just ends), nor other protocols
    conn.socket.destroy()
    return false
  }

  /** Handles a message of the session; false when the connection ends. */
  #message(conn: Connection, message: Uint8Array): boolean {
    const type = String.fromCharCode(message[0] ?? 0)
    if (type === 'X') {
      conn.socket.end()
      return false
    }
    conn.pending.push(message)
    if (UNIT_END.has(type)) {
      const messages = conn.pending
      conn.pending = []
      this.#enqueue({ conn, messages })
    }
    return true
  }

  #enqueue(unit: Unit): void {
    this.#queue.push(unit)
    void this.#pump()
  }

  #drop(conn: Connection): void {
    conn.closed = true
    this.#connections.delete(conn)
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      if (this.#queue[i]?.conn === conn) this.#queue.splice(i, 1)
    }
    void this.#pump()
  }

  async #pump(): Promise<void> {
    if (this.#running) return
    this.#running = true
    try {
      for (;;) {
        const owner = this.#owner
        if (owner?.closed) {
          // The connection that opened a transaction went away: undo it, as Postgres would.
          this.#owner = null
          if (this.#db.isInTransaction()) await this.#db.exec('ROLLBACK').catch(() => undefined)
          continue
        }
        const index = owner ? this.#queue.findIndex((u) => u.conn === owner) : 0
        const unit = index >= 0 ? this.#queue[index] : undefined
        if (!unit) return
        this.#queue.splice(index, 1)
        await this.#run(unit)
        this.#owner = this.#db.isInTransaction() ? unit.conn : null
      }
    } finally {
      this.#running = false
    }
  }

  async #run(unit: Unit): Promise<void> {
    const { socket } = unit.conn
    const out: Uint8Array[] = []
    try {
      await this.#db.runExclusive(async () => {
        for (const message of unit.messages) {
          await this.#db.execProtocolRawStream(message, { onRawData: (data) => void out.push(data.slice()) }) // data is a view into WASM memory
        }
      })
    } catch {
      socket.destroy()
      return
    }
    this.#trackListen(unit)
    let output: Buffer = Buffer.concat(out)
    const notifications: Buffer[] = []
    if (this.#hasListeners()) output = takeNotifications(output, notifications)
    if (!unit.conn.closed && socket.writable && output.length > 0) socket.write(output)
    for (const notification of notifications) this.#deliver(notification)
  }

  #hasListeners(): boolean {
    for (const conn of this.#connections) if (conn.channels.size > 0) return true
    return false
  }

  /** Records `LISTEN x` / `UNLISTEN x|*` sent as simple queries (how node-postgres sends them). */
  #trackListen(unit: Unit): void {
    for (const message of unit.messages) {
      if (message[0] !== QUERY) continue
      const text = Buffer.from(message.subarray(5, message.length - 1)).toString('utf8')
      const match = LISTEN.exec(text)
      if (!match) continue
      const [, un, quoted, name = ''] = match
      const channel = quoted ? name : name.toLowerCase()
      if (!un) unit.conn.channels.add(channel)
      else if (channel === '*') unit.conn.channels.clear()
      else unit.conn.channels.delete(channel)
    }
  }

  #deliver(notification: Buffer): void {
    // Body: int32 sender pid, channel\0, payload\0.
    const end = notification.indexOf(0, 9)
    const channel = notification.subarray(9, end).toString('utf8')
    for (const conn of this.#connections) {
      if (conn.channels.has(channel) && !conn.closed && conn.socket.writable) conn.socket.write(notification)
    }
  }
}

/** Splits NotificationResponse messages out of a unit's output; returns the rest. */
function takeNotifications(output: Buffer, into: Buffer[]): Buffer {
  const kept: Buffer[] = []
  let start = 0
  let offset = 0
  while (offset + 5 <= output.length) {
    const length = 1 + output.readInt32BE(offset + 1)
    if (output[offset] === NOTIFICATION) {
      if (offset > start) kept.push(output.subarray(start, offset))
      into.push(output.subarray(offset, offset + length))
      start = offset + length
    }
    offset += length
  }
  if (into.length === 0) return output
  if (start < output.length) kept.push(output.subarray(start))
  return Buffer.concat(kept)
}
