/**
 * The embedded database: PGlite (Postgres in WASM) in a data folder.
 *
 * PGlite allows one process per folder; a second process opening it corrupts it. So whichever
 * process opens the folder first holds it under a lock file and serves it over a Unix socket
 * (see internal/pglite-server.ts), and every other local process — the CLI, `psql -h <DATA_DIR>`,
 * a second server — connects through that socket instead of opening the folder. Everyone,
 * the holder included, talks to the database through node-postgres, so there is one code path.
 */
import { createHash } from 'node:crypto'
import { access, mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import type { PGlite } from '@electric-sql/pglite'

import { PGliteServer } from './internal/pglite-server.js'

const LOCK_FILE = 'gatehouse.lock'
const SOCKET_PORT = 5432
const SOCKET_NAME = `.s.PGSQL.${SOCKET_PORT}`
// sun_path holds 108 bytes on Linux; leave room for the socket's own name.
const MAX_SOCKET_DIR_LENGTH = 90
const WAIT_FOR_HOLDER_MS = 60_000

export interface EmbeddedEndpoint {
  /** Directory holding `.s.PGSQL.5432`: give it to node-postgres as `host`, or to `psql -h`. */
  socketDir: string
  port: number
  /** True when this process opened the folder and serves it; false when it is a client. */
  holder: boolean
  /** The holder only: the whole data folder as a tarball (PGlite's `dumpDataDir`), for `template`. */
  dump?: () => Promise<Blob>
  close(): Promise<void>
}

export interface OpenEmbeddedOptions {
  /** The data folder; `null` → a private in-memory database (tests). */
  dataDir: string | null
  /**
   * A new database starts as a copy of this tarball (from `dump`) instead of running initdb, which
   * takes PGlite 1.5–3 s; tests start hundreds of databases from one migrated copy. Ignored when
   * the folder already holds a database.
   */
  template?: Blob | undefined
}

interface LockContents {
  pid: number
  socketDir: string
}

export class EmbeddedDatabaseError extends Error {
  override readonly name = 'EmbeddedDatabaseError'
}

function socketDirFor(dataDir: string): string {
  if (dataDir.length <= MAX_SOCKET_DIR_LENGTH) return dataDir
  const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 16)
  return join(tmpdir(), `gatehouse-${digest}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function canConnect(path: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(path)
    socket.once('connect', () => {
      socket.destroy()
      done(true)
    })
    socket.once('error', () => done(false))
  })
}

async function readLock(lockPath: string): Promise<LockContents | null> {
  try {
    const parsed = JSON.parse(await readFile(lockPath, 'utf8')) as Partial<LockContents>
    if (typeof parsed.pid === 'number' && typeof parsed.socketDir === 'string') {
      return { pid: parsed.pid, socketDir: parsed.socketDir }
    }
    return null
  } catch {
    return null // missing, or caught half-written: the caller retries
  }
}

async function tryCreateLock(lockPath: string, contents: LockContents): Promise<boolean> {
  try {
    const handle = await open(lockPath, 'wx')
    await handle.writeFile(JSON.stringify(contents))
    await handle.close()
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
}

async function isNewFolder(pgdata: string): Promise<boolean> {
  try {
    await access(join(pgdata, 'PG_VERSION'))
    return false
  } catch {
    return true
  }
}

async function startHolder(
  opts: { dataDir: string | null; template?: Blob | undefined },
  socketDir: string,
  release: () => Promise<void>,
) {
  const { dataDir } = opts
  let pglite: PGlite | undefined
  let server: PGliteServer | undefined
  try {
    // Loaded by the process that holds the folder, never by a server on Postgres (about 10 MB).
    const { PGlite } = await import('@electric-sql/pglite')
    const pgdata = dataDir && join(dataDir, 'pgdata')
    // PGlite refuses a tarball for a folder that already holds a database.
    const template = opts.template && (!pgdata || (await isNewFolder(pgdata))) ? opts.template : undefined
    const options = template ? { loadDataDir: template } : {}
    pglite = pgdata ? new PGlite(pgdata, options) : new PGlite(options)
    await pglite.waitReady
    const socketPath = join(socketDir, SOCKET_NAME)
    await rm(socketPath, { force: true })
    server = new PGliteServer(pglite)
    await server.listen(socketPath)
  } catch (err) {
    await server?.close().catch(() => undefined)
    await pglite?.close().catch(() => undefined)
    await release()
    throw err
  }
  const [db, srv] = [pglite, server]
  let closed: Promise<void> | undefined
  return {
    socketDir,
    port: SOCKET_PORT,
    holder: true,
    dump: () => db.dumpDataDir('none'),
    close: () =>
      (closed ??= (async () => {
        await srv.close()
        await db.close()
        await rm(join(socketDir, SOCKET_NAME), { force: true })
        await release()
      })()),
  } satisfies EmbeddedEndpoint
}

/**
 * Opens the PGlite data folder, or connects to the process that already holds it.
 * With `dataDir: null` it starts a private in-memory database (tests).
 */
export async function openEmbedded(opts: OpenEmbeddedOptions): Promise<EmbeddedEndpoint> {
  if (opts.dataDir === null) {
    const socketDir = join(tmpdir(), `gatehouse-mem-${process.pid}-${crypto.randomUUID().slice(0, 8)}`)
    await mkdir(socketDir, { recursive: true })
    return startHolder(
      { dataDir: null, template: opts.template },
      socketDir,
      () => rm(socketDir, { recursive: true, force: true }),
    )
  }

  const dataDir = resolve(opts.dataDir)
  await mkdir(dataDir, { recursive: true })
  const lockPath = join(dataDir, LOCK_FILE)
  const socketDir = socketDirFor(dataDir)
  await mkdir(socketDir, { recursive: true })
  const deadline = Date.now() + WAIT_FOR_HOLDER_MS

  for (;;) {
    if (await tryCreateLock(lockPath, { pid: process.pid, socketDir })) {
      return startHolder({ dataDir, template: opts.template }, socketDir, () => rm(lockPath, { force: true }))
    }
    const lock = await readLock(lockPath)
    if (lock && isAlive(lock.pid)) {
      // Another process holds the folder: be its client once its socket answers.
      if (await canConnect(join(lock.socketDir, SOCKET_NAME))) {
        return { socketDir: lock.socketDir, port: SOCKET_PORT, holder: false, close: async () => {} }
      }
    } else if (lock) {
      // The holder died without cleaning up. Renaming is atomic, so of several processes that
      // find the same stale lock exactly one removes it; the others retry and find the new one.
      const stale = `${lockPath}.stale-${process.pid}`
      try {
        await rename(lockPath, stale)
        const moved = await readLock(stale)
        if (moved && moved.pid !== lock.pid) {
          // We moved a fresh lock someone wrote after we read the stale one: put it back.
          await rename(stale, lockPath)
        } else {
          await rm(stale, { force: true })
        }
      } catch {
        // someone else got there first
      }
      continue
    }
    if (Date.now() > deadline) {
      const holder = lock ? `process ${lock.pid}` : 'another process'
      throw new EmbeddedDatabaseError(
        `DATA_DIR ${dataDir} is held by ${holder}, which does not answer on its socket; stop it or remove ${lockPath}`,
      )
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

