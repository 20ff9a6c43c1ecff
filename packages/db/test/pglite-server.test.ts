import { sql } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'

import { createDb, openEmbedded } from '../src/index.js'

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
