import type { PostgresPool } from 'kysely'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'

import type { Database } from './schema.js'
import { openEmbedded } from './embedded.js'

export type * from './schema.js'
export { migrate, MigrationError } from './migrate.js'
export {
  openDataDir,
  openEmbedded,
  EmbeddedDatabaseError,
  type EmbeddedEndpoint,
  type OpenEmbeddedOptions,
} from './embedded.js'

// int8 (count(*), bigint ids) arrives as a string by default; our counts fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))

export type Db = Kysely<Database>
/** A dedicated connection for LISTEN (see `createListenClient`). */
export type ListenClient = pg.Client
export type ListenNotification = pg.Notification

export interface CreateDbOptions {
  /** Postgres connection string. Unset → the embedded PGlite database in `dataDir`. */
  databaseUrl?: string | undefined
  /**
   * Embedded database folder, used when `databaseUrl` is unset; `null` → a private in-memory one.
   * @default './.data'
   */
  dataDir?: string | null | undefined
  /** @default 10 */
  poolSize?: number | undefined
  /** Extra node-postgres options (tests set `options: '-c search_path=…'`). */
  pgOptions?: pg.PoolConfig | undefined
  /** Embedded only: a new database starts from this tarball (`dumpEmbedded`) instead of initdb. */
  embeddedTemplate?: Blob | undefined
}

export interface DbInfo {
  backend: 'postgres' | 'pglite'
  /** For PGlite: the directory of the socket that `psql -h` and the CLI connect to. */
  socketDir?: string
  /** For PGlite: whether this process holds the data folder. */
  holder?: boolean
}

const infos = new WeakMap<object, DbInfo>()
// How to open one more connection like the pool's (a LISTEN connection cannot come from the pool).
const connections = new WeakMap<object, pg.ClientConfig>()
const dumps = new WeakMap<object, () => Promise<Blob>>()

/** What `createDb` connected to. */
export function dbInfo(db: Db): DbInfo {
  return infos.get(db) ?? { backend: 'postgres' }
}

/**
 * Kysely on node-postgres. With `databaseUrl` it talks to that server; without, it opens (or
 * joins, see embedded.ts) the PGlite database in `dataDir`. `db.destroy()` releases everything.
 *
 * @example
 * const db = await createDb({ databaseUrl: process.env.DATABASE_URL })
 */
export async function createDb(opts: CreateDbOptions = {}): Promise<Db> {
  const max = opts.poolSize ?? 10
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max, ...opts.pgOptions })
    // An idle client that loses its server emits 'error'; without a listener that kills the
    // process. The next query reports the outage instead.
    pool.on('error', () => undefined)
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
    infos.set(db, { backend: 'postgres' })
    connections.set(db, { connectionString: opts.databaseUrl, ...opts.pgOptions })
    return db
  }
  const endpoint = await openEmbedded({
    dataDir: opts.dataDir === undefined ? './.data' : opts.dataDir,
    template: opts.embeddedTemplate,
  })
  const client: pg.ClientConfig = {
    host: endpoint.socketDir,
    port: endpoint.port,
    user: 'postgres',
    database: 'postgres',
    ...opts.pgOptions,
  }
  const pool = new pg.Pool({ ...client, max })
  pool.on('error', () => undefined)
  const wrapped: PostgresPool = {
    connect: () => pool.connect(),
    end: async () => {
      await pool.end()
      await endpoint.close()
    },
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: wrapped }) })
  // Kysely ends the pool only if a query ever opened it; the embedded database (the folder's
  // lock, the socket) must be released either way, or the next process to start cannot hold it.
  const destroy = db.destroy.bind(db)
  db.destroy = async () => {
    await destroy()
    await endpoint.close()
  }
  infos.set(db, { backend: 'pglite', socketDir: endpoint.socketDir, holder: endpoint.holder })
  connections.set(db, client)
  if (endpoint.dump) dumps.set(db, endpoint.dump)
  return db
}

/**
 * The embedded database this process holds, as a tarball `embeddedTemplate` starts a new one from.
 * Take it while nothing writes: it copies the files as they are.
 */
export function dumpEmbedded(db: Db): Promise<Blob> {
  const dump = dumps.get(db)
  if (!dump) throw new TypeError('dumpEmbedded: this database is not an embedded one held by this process')
  return dump()
}

/**
 * A new, unconnected node-postgres client with the pool's settings (same server, database and
 * search_path), for a LISTEN connection; undefined for a Kysely instance `createDb` did not make.
 * `overrides` adds client options (the bus turns TCP keepalive on). The caller connects, handles
 * its 'error' event and ends it.
 */
export function createListenClient(db: Db, overrides: pg.ClientConfig = {}): pg.Client | undefined {
  const config = connections.get(db)
  return config && new pg.Client({ ...config, ...overrides })
}
