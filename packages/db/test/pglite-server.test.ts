import type { ChildProcessByStdio } from 'node:child_process'
import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'

import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createDb, openEmbedded } from '../src/index.js'
import { MAX_MESSAGE_LENGTH, MAX_STARTUP_LENGTH } from '../src/internal/pglite-server.js'

// The embedded server is ours (see src/internal/pglite-server.ts), so it gets its own tests.
describe('embedded PGlite server', () => {
  it('should keep each connection statements and results apart under concurrency', async () => {
    const db = await createDb({ dataDir: null, poolSize: 10 })
    try {
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          sql<{ a: number; b: string }>`select ${i}::int as a, ${`x${i}`}::text as b`.execute(db),
        ),
      )
      results.forEach((r, i) => expect(r.rows[0]).toEqual({ a: i, b: `x${i}` }))
    } finally {
      await db.destroy()
    }
  })

  it('should deliver NOTIFY to the connections that LISTEN, in commit order, and to no one else', async () => {
    const endpoint = await openEmbedded({ dataDir: null })
    const connect = async () => {
      const client = new pg.Client({ host: endpoint.socketDir, port: endpoint.port, user: 'postgres', database: 'postgres' })
      await client.connect()
      return client
    }
    const heard = new Map<string, string[]>()
    const listenerOf = (name: string, client: pg.Client) => {
      heard.set(name, [])
      client.on('notification', (m) => heard.get(name)?.push(`${m.channel}:${m.payload ?? ''}`))
    }
    const [listener, other, writer] = [await connect(), await connect(), await connect()]
    try {
      listenerOf('listener', listener)
      listenerOf('other', other)
      listenerOf('writer', writer)
      await listener.query('LISTEN gatehouse_auth')
      await other.query('LISTEN elsewhere')
      await writer.query(`select pg_notify('gatehouse_auth', 'one')`)
      await writer.query('begin')
      await writer.query(`notify gatehouse_auth, 'two'`)
      expect(heard.get('listener')).toEqual(['gatehouse_auth:one']) // not before its commit
      await writer.query('commit')
      await writer.query(`select pg_notify('gatehouse_auth', 'three')`)
      await listener.query(`notify gatehouse_auth, 'self'`) // a session hears its own
      await other.query('UNLISTEN *')
      expect(heard.get('listener')).toEqual(['gatehouse_auth:one', 'gatehouse_auth:two', 'gatehouse_auth:three', 'gatehouse_auth:self'])
      expect(heard.get('writer')).toEqual([]) // taken out of the committing connection's output
      expect(heard.get('other')).toEqual([])
      expect((await writer.query('select 1 as x')).rows).toEqual([{ x: 1 }])
    } finally {
      for (const client of [listener, other, writer]) await client.end()
      await endpoint.close()
    }
  })

  it('should roll back a transaction whose connection went away, and not block the others', async () => {
    const endpoint = await openEmbedded({ dataDir: null })
    const connect = async () => {
      const client = new pg.Client({ host: endpoint.socketDir, port: endpoint.port, user: 'postgres', database: 'postgres' })
      client.on('error', () => undefined)
      await client.connect()
      return client
    }
    try {
      const setup = await connect()
      await setup.query('create table t (id int primary key)')
      await setup.end()
      const crashing = await connect()
      await crashing.query('begin')
      await crashing.query('insert into t values (1)')
      // the client dies mid-transaction: no COMMIT, no ROLLBACK, just a closed socket
      ;(crashing as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy()
      const other = await connect()
      const { rows } = await other.query<{ n: number }>('select count(*)::int as n from t')
      expect(rows[0]?.n).toBe(0)
      await other.query('insert into t values (2)') // and the database is not stuck in that transaction
      await other.end()
    } finally {
      await endpoint.close()
    }
  })

  it('should isolate concurrent transactions and roll back the ones that fail', async () => {
    const db = await createDb({ dataDir: null, poolSize: 10 })
    try {
      await sql`create table t (id int primary key, n int not null)`.execute(db)
      await sql`insert into t values (1, 0)`.execute(db)
      const outcomes = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          db.transaction().execute(async (trx) => {
            const row = await sql<{ n: number }>`select n from t where id = 1`.execute(trx)
            await sql`update t set n = ${(row.rows[0]?.n ?? 0) + 1} where id = 1`.execute(trx)
            if (i % 4 === 0) throw new Error('abort')
          }),
        ),
      )
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(30)
      // read-modify-write without lost updates: only the 30 committed increments count
      const final = await sql<{ n: number }>`select n from t where id = 1`.execute(db)
      expect(final.rows[0]?.n).toBe(30)
    } finally {
      await db.destroy()
    }
  })
})

/** A message as node-postgres frames it: int32 length (itself included) and the body. */
function startupPacket(code: number, body: Buffer = Buffer.alloc(0), length = 8 + body.length): Buffer {
  const head = Buffer.alloc(8)
  head.writeInt32BE(length, 0)
  head.writeInt32BE(code, 4)
  return Buffer.concat([head, body])
}
const SSL_REQUEST = 80_877_103
const PROTOCOL_3 = 196_608
const STARTUP = startupPacket(PROTOCOL_3, Buffer.from('user\0postgres\0database\0postgres\0\0'))
/** A regular message header (type byte, int32 length) followed by `body`. */
function message(type: string, length: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeInt32BE(length, 1)
  return Buffer.concat([head, body])
}

// A length the parser mishandles can spin the event loop forever (an SSLRequest of length 0 did, and
// grew the process to 1.9 GB): the database runs in a process of its own so a failing test ends.
describe('embedded PGlite server: malformed message lengths', () => {
  const packageDir = fileURLToPath(new URL('..', import.meta.url))
  let holder: ChildProcessByStdio<Writable, Readable, null>
  let socketDir = ''
  let bystander: pg.Client

  const client = () => new pg.Client({ host: socketDir, port: 5432, user: 'postgres', database: 'postgres' })
  /** Sends `bytes` on a raw connection; resolves with what the server sent once it closes the connection. */
  const sendRaw = (bytes: Buffer) =>
    new Promise<Buffer>((resolve) => {
      const received: Buffer[] = []
      const socket = connect(join(socketDir, '.s.PGSQL.5432'), () => socket.write(bytes))
      socket.on('data', (d) => received.push(d))
      socket.on('error', () => undefined)
      socket.on('close', () => resolve(Buffer.concat(received)))
    })

  beforeAll(async () => {
    // A small heap: a holder that loops writing answers runs out of it instead of taking gigabytes.
    holder = spawn(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', 'test/fixtures/hold-embedded.ts'], {
      cwd: packageDir,
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    socketDir = await new Promise<string>((resolve, reject) => {
      let out = ''
      holder.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('\n')) resolve(out.trim())
      })
      holder.on('exit', (code) => reject(new Error(`the holder exited with ${code}`)))
    })
    bystander = client()
    await bystander.connect()
  })
  afterAll(async () => {
    holder?.kill('SIGKILL') // first: a holder stuck in a loop never answers, nor reads its stdin closing
    await bystander?.end().catch(() => undefined)
    if (socketDir) await rm(socketDir, { recursive: true, force: true })
  })

  // Before the startup the server answers a bad length with nothing, as Postgres does; after it,
  // the startup's own answer may or may not have gone out before the close.
  const attacks: [string, Buffer, { silent: boolean }][] = [
    ['an SSLRequest of length 0', startupPacket(SSL_REQUEST, Buffer.alloc(0), 0), { silent: true }],
    ['a startup packet shorter than 8 bytes', startupPacket(PROTOCOL_3, Buffer.alloc(8), 7), { silent: true }],
    ['a startup packet longer than the maximum', startupPacket(PROTOCOL_3, Buffer.alloc(16), MAX_STARTUP_LENGTH + 1), { silent: true }],
    ['a startup packet of negative length', startupPacket(PROTOCOL_3, Buffer.alloc(8), -1), { silent: true }],
    ['a message of length 2 after the startup', Buffer.concat([STARTUP, message('Q', 2, Buffer.from('x\0'))]), { silent: false }],
    ['a message of negative length after the startup', Buffer.concat([STARTUP, message('Q', -1, Buffer.alloc(8))]), { silent: false }],
    ['a message longer than the maximum after the startup', Buffer.concat([STARTUP, message('Q', MAX_MESSAGE_LENGTH + 1)]), { silent: false }],
  ]
  for (const [name, bytes, { silent }] of attacks) {
    it(`attack: ${name} closes that connection, and the others keep being served`, { timeout: 10_000 }, async () => {
      const received = await sendRaw(bytes)
      if (silent) expect(received).toEqual(Buffer.alloc(0))
      expect((await bystander.query('select 1 as x')).rows).toEqual([{ x: 1 }])
      const fresh = client()
      await fresh.connect()
      expect((await fresh.query('select 2 as x')).rows).toEqual([{ x: 2 }])
      await fresh.end()
    })
  }

  it('should still serve a message as long as the maximum allows, in many chunks', { timeout: 30_000 }, async () => {
    // 4 MiB of text in one simple query: far below the maximum, far above one socket read
    const text = 'x'.repeat(4 * 1024 * 1024)
    const { rows } = await bystander.query<{ n: number }>(`select length('${text}') as n`)
    expect(rows).toEqual([{ n: text.length }])
  })
})
