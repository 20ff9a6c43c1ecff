/**
 * The embedded database: PGlite (Postgres in WASM) in a data folder.
 *
 * PGlite allows one process per folder; a second process opening it corrupts it. So whichever
 * process opens the folder first holds it under a lock file and serves it over a Unix socket
 * (see internal/pglite-server.ts), and every other local process — the CLI, `psql -h <DATA_DIR>`,
 * a second server — connects through that socket instead of opening the folder. Everyone,
 * the holder included, talks to the database through node-postgres, so there is one code path.
 *
 * The socket takes connections without a password, as Postgres's own socket does under `trust`:
 * what keeps other local users out is that they cannot reach it. DATA_DIR must be ours and 0700
 * (checked, never repaired, as Postgres checks its data directory); the socket lives in DATA_DIR,
 * or for a DATA_DIR too long for a socket path in a folder of random name made 0700 by mkdtemp and
 * named in the lock, which a client trusts because only we can write in DATA_DIR, and checks again
 * before it connects. See internal/private-dir.ts.
 */
import { access, chmod, mkdir, mkdtemp, open, readFile, realpath, rename, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'

import type { PGlite } from '@electric-sql/pglite'

import { PGliteServer } from './internal/pglite-server.js'
import { holdOwnerOnlyUmask, privateDirProblem, tightenTree } from './internal/private-dir.js'

const LOCK_FILE = 'gatehouse.lock'
const SOCKET_PORT = 5432
const SOCKET_NAME = `.s.PGSQL.${SOCKET_PORT}`
// sun_path holds 108 bytes on Linux; leave room for the socket's own name.
const MAX_SOCKET_DIR_LENGTH = 90
// The prefix of the private socket folders in the temporary directory; mkdtemp adds 6 random characters.
const PRIVATE_SOCKET_PREFIX = 'gatehouse-'
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

/**
 * Creates DATA_DIR (and the folders above it) 0700, and refuses it (EmbeddedDatabaseError, one
 * line with the fix) unless it is private to us. Everything kept in DATA_DIR (the database, the
 * secret key file) is opened only after this.
 */
export async function openDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err // a file: the check below names it
  }
  const problem = await privateDirProblem(dataDir, { followLinks: true })
  if (problem) throw new EmbeddedDatabaseError(`DATA_DIR ${dataDir} ${problem.found}; fix: ${problem.fix}`)
}

/**
 * Where the holder of `dataDir` puts its socket: DATA_DIR itself, or when that path is too long
 * for a socket, a new folder of random name (never a predictable one, which another user could
 * make first and own).
 */
async function holderSocketDir(dataDir: string): Promise<string> {
  if (dataDir.length <= MAX_SOCKET_DIR_LENGTH) return dataDir
  return mkdtemp(join(tmpdir(), PRIVATE_SOCKET_PREFIX))
}

/** Removes a private socket folder a holder left behind when it died, if it is one of ours. */
async function removeStaleSocketDir(socketDir: string, dataDir: string): Promise<void> {
  const ours = dirname(socketDir) === tmpdir() && basename(socketDir).startsWith(PRIVATE_SOCKET_PREFIX)
  if (socketDir === dataDir || !ours) return
  const problem = await privateDirProblem(socketDir, { followLinks: false }).catch(() => undefined)
  if (problem === null) await rm(socketDir, { recursive: true, force: true })
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

/** Takes the lock on `dataDir` if no one holds it; then returns the socket folder it names. */
async function tryCreateLock(lockPath: string, dataDir: string): Promise<string | null> {
  let handle
  try {
    handle = await open(lockPath, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null
    throw err
  }
  let socketDir: string | undefined
  try {
    // Made once the lock is ours, so a process that waits for a holder makes no folder.
    socketDir = await holderSocketDir(dataDir)
    await handle.writeFile(JSON.stringify({ pid: process.pid, socketDir } satisfies LockContents))
    return socketDir
  } catch (err) {
    await rm(lockPath, { force: true })
    if (socketDir && socketDir !== dataDir) await rm(socketDir, { recursive: true, force: true })
    throw err
  } finally {
    await handle.close()
  }
}

/**
 * Refuses a socket folder named in the lock that is not (or no longer) a private folder of ours.
 * False when it is missing: its holder is gone or not there yet, and the caller waits.
 */
async function checkClientSocketDir(lock: LockContents, lockPath: string, dataDir: string): Promise<boolean> {
  // DATA_DIR itself (under another spelling, or through a link) was checked when we opened it.
  if (lock.socketDir === dataDir) return true
  if ((await realpath(lock.socketDir).catch(() => null)) === (await realpath(dataDir))) return true
  let problem
  try {
    problem = await privateDirProblem(lock.socketDir, { followLinks: false })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  if (!problem) return true
  throw new EmbeddedDatabaseError(
    `the socket folder ${lock.socketDir} named in ${lockPath} ${problem.found}; refusing to connect through it (restart process ${lock.pid}, which holds ${dataDir})`,
  )
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
  const releaseUmask = dataDir ? holdOwnerOnlyUmask() : () => undefined
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
    // After PGlite wrote what it writes when it opens: it chmods its initdb and template files 0666
    // (the umask does not reach them), and earlier versions left folders that way. Nothing else
    // reaches them in the meantime, since DATA_DIR is 0700.
    if (pgdata) await tightenTree(pgdata)
    const socketPath = join(socketDir, SOCKET_NAME)
    await rm(socketPath, { force: true })
    server = new PGliteServer(pglite)
    await server.listen(socketPath)
    // The 0700 folder is what keeps other users out (some systems ignore a socket's own mode).
    await chmod(socketPath, 0o600)
  } catch (err) {
    await server?.close().catch(() => undefined)
    await pglite?.close().catch(() => undefined)
    await release()
    releaseUmask()
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
        releaseUmask()
      })()),
  } satisfies EmbeddedEndpoint
}

/**
 * Opens the PGlite data folder, or connects to the process that already holds it.
 * With `dataDir: null` it starts a private in-memory database (tests).
 */
export async function openEmbedded(opts: OpenEmbeddedOptions): Promise<EmbeddedEndpoint> {
  if (opts.dataDir === null) {
    const socketDir = await mkdtemp(join(tmpdir(), `${PRIVATE_SOCKET_PREFIX}mem-`))
    return startHolder(
      { dataDir: null, template: opts.template },
      socketDir,
      () => rm(socketDir, { recursive: true, force: true }),
    )
  }

  const dataDir = resolve(opts.dataDir)
  await openDataDir(dataDir)
  const lockPath = join(dataDir, LOCK_FILE)
  const deadline = Date.now() + WAIT_FOR_HOLDER_MS

  for (;;) {
    const socketDir = await tryCreateLock(lockPath, dataDir)
    if (socketDir) {
      return startHolder({ dataDir, template: opts.template }, socketDir, async () => {
        if (socketDir !== dataDir) await rm(socketDir, { recursive: true, force: true })
        await rm(lockPath, { force: true })
      })
    }
    const lock = await readLock(lockPath)
    if (lock && isAlive(lock.pid)) {
      // Another process holds the folder: be its client once its socket answers.
      const usable = await checkClientSocketDir(lock, lockPath, dataDir)
      if (usable && (await canConnect(join(lock.socketDir, SOCKET_NAME)))) {
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
          await removeStaleSocketDir(lock.socketDir, dataDir)
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

