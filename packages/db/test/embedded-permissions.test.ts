import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises'
import type { Server } from 'node:net'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { Db } from '../src/index.js'
import { createDb, dbInfo, dumpEmbedded, openEmbedded } from '../src/index.js'

// Postgres's rule for its data directory, kept for ours: DATA_DIR and the socket folder belong to
// the user that runs the server and no one else may enter them; the files in them are owner-only.
const uid = process.getuid?.() ?? -1
const isRoot = uid === 0
const NOBODY = 65_534
const SOCKET = '.s.PGSQL.5432'

const modeOf = async (path: string) => (await lstat(path)).mode & 0o777
/** Every entry under `root` whose mode lets group or others in, as "path mode". */
async function loose(root: string): Promise<string[]> {
  const found: string[] = []
  const visit = async (path: string) => {
    const info = await lstat(path)
    if ((info.mode & 0o077) !== 0) found.push(`${path.slice(root.length)} ${(info.mode & 0o777).toString(8)}`)
    if (info.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name))
  }
  await visit(root)
  return found
}
/** Reads the process umask (Node has no getter that does not set it). */
function currentUmask(): number {
  const mask = process.umask(0o022)
  process.umask(mask)
  return mask
}
/** A data folder path too long for a socket inside it (sun_path holds 108 bytes). */
const longPath = (base: string, name: string) => join(base, `${name}-${'x'.repeat(100)}`)

describe('embedded database: a private data folder', () => {
  let base: string
  // The first start's database, which the later tests start from instead of running initdb again.
  let template: Blob
  let firstDir: string
  let db: Db | undefined
  let umaskBefore: number
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'gh-perm-'))
    firstDir = join(base, 'first', 'nested', 'data')
    umaskBefore = currentUmask()
    db = await createDb({ dataDir: firstDir, poolSize: 1 }) // initdb, as a new checkout's first `pnpm start`
    await sql`create table secrets (v text)`.execute(db)
    await sql`insert into secrets values ('a private key')`.execute(db)
    await sql`checkpoint`.execute(db)
    template = await dumpEmbedded(db)
  })
  afterAll(async () => {
    await db?.destroy()
    await rm(base, { recursive: true, force: true })
  })

  describe('a first start', () => {
    it('should create DATA_DIR and the folders above it that it creates 0700, and the lock and socket 0600', async () => {
      for (const dir of ['first', 'first/nested', 'first/nested/data'])
        expect(await modeOf(join(base, dir))).toBe(0o700)
      expect(await modeOf(join(firstDir, 'gatehouse.lock'))).toBe(0o600)
      expect(dbInfo(db!).socketDir).toBe(firstDir)
      expect(await modeOf(join(firstDir, SOCKET))).toBe(0o600)
    })

    it('should leave nothing in DATA_DIR that group or others may read (PGlite writes its initdb files 0666)', async () => {
      expect(await loose(firstDir)).toEqual([])
    })

    it('should tighten the files an earlier version left open when it opens the folder again', async () => {
      await db!.destroy()
      db = undefined
      expect(currentUmask()).toBe(umaskBefore) // the holder's umask is given back when it closes
      // What an earlier version left: a 0755 DATA_DIR (the operator ran `chmod 700`), 0666 files, 0777 folders.
      const visit = async (path: string) => {
        const info = await lstat(path)
        await chmod(path, info.isDirectory() ? 0o777 : 0o666)
        if (info.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name))
      }
      await visit(join(firstDir, 'pgdata'))
      expect((await loose(firstDir)).length).toBeGreaterThan(900)

      db = await createDb({ dataDir: firstDir, poolSize: 1 })
      expect(await loose(firstDir)).toEqual([])
      expect((await sql<{ v: string }>`select v from secrets`.execute(db)).rows).toEqual([{ v: 'a private key' }])
    })
  })

  it('attack: a DATA_DIR open to group or others is refused, with one line naming it and the fix', async () => {
    for (const mode of [0o777, 0o755, 0o750, 0o701]) {
      const dataDir = await mkdtemp(join(base, 'open-'))
      await chmod(dataDir, mode)
      await expect(openEmbedded({ dataDir })).rejects.toMatchObject({
        name: 'EmbeddedDatabaseError',
        message: `DATA_DIR ${dataDir} has invalid permissions (mode 0${mode.toString(8)}, open to group or others); fix: chmod 700 ${dataDir}`,
      })
      expect(await readdir(dataDir)).toEqual([]) // refused before it wrote anything
    }
  })

  it.skipIf(!isRoot)('attack: a DATA_DIR owned by another user is refused (needs root to chown)', async () => {
    const dataDir = await mkdtemp(join(base, 'foreign-'))
    await chown(dataDir, NOBODY, NOBODY)
    await expect(openEmbedded({ dataDir })).rejects.toMatchObject({
      name: 'EmbeddedDatabaseError',
      message: `DATA_DIR ${dataDir} is owned by uid ${NOBODY}, not by uid ${uid} that runs this process; fix: run it as uid ${NOBODY}, or use another folder`,
    })
    expect(await readdir(dataDir)).toEqual([])
  })

  it('attack: a folder made in advance at the old predictable socket path is never used', async () => {
    const dataDir = longPath(base, 'predictable')
    // Where earlier versions put the socket of a long DATA_DIR: anyone could make it first.
    const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 16)
    const squatted = join(tmpdir(), `gatehouse-${digest}`)
    await mkdir(squatted, { recursive: true })
    await chmod(squatted, 0o777)
    if (isRoot) await chown(squatted, NOBODY, NOBODY)
    let impostorConnections = 0
    const impostor: Server = createServer((socket) => {
      impostorConnections++
      socket.destroy()
    })
    await new Promise<void>((resolve) => impostor.listen(join(squatted, SOCKET), resolve))
    try {
      const db = await createDb({ dataDir, poolSize: 1, embeddedTemplate: template })
      let socketDir: string
      try {
        socketDir = dbInfo(db).socketDir!
        expect(socketDir).not.toBe(squatted)
        expect(dirname(socketDir)).toBe(tmpdir())
        expect(await modeOf(socketDir)).toBe(0o700)
        expect((await lstat(socketDir)).uid).toBe(uid)
        expect(await modeOf(join(socketDir, SOCKET))).toBe(0o600)
        // The lock in the private DATA_DIR names the folder, and other processes take it from there.
        expect(JSON.parse(await readFile(join(dataDir, 'gatehouse.lock'), 'utf8'))).toEqual({
          pid: process.pid,
          socketDir,
        })
        const client = await openEmbedded({ dataDir })
        expect({ holder: client.holder, socketDir: client.socketDir }).toEqual({ holder: false, socketDir })
        const second = await createDb({ dataDir, poolSize: 1 })
        expect((await sql<{ x: number }>`select 1 as x`.execute(second)).rows).toEqual([{ x: 1 }])
        await second.destroy()
        expect((await sql<{ x: number }>`select 2 as x`.execute(db)).rows).toEqual([{ x: 2 }])
      } finally {
        await db.destroy()
      }
      await expect(lstat(socketDir)).rejects.toMatchObject({ code: 'ENOENT' }) // removed on close
      expect(impostorConnections).toBe(0)
    } finally {
      await new Promise((resolve) => impostor.close(resolve))
      await rm(squatted, { recursive: true, force: true })
    }
  })

  it('attack: a client refuses a socket folder that became a link, open to others or foreign', async () => {
    const dataDir = longPath(base, 'tampered')
    const db = await createDb({ dataDir, poolSize: 1, embeddedTemplate: template })
    const socketDir = dbInfo(db).socketDir!
    const lockPath = join(dataDir, 'gatehouse.lock')
    const refusal = (found: string) => ({
      name: 'EmbeddedDatabaseError',
      message: `the socket folder ${socketDir} named in ${lockPath} ${found}; refusing to connect through it (restart process ${process.pid}, which holds ${dataDir})`,
    })
    try {
      await chmod(socketDir, 0o755)
      await expect(openEmbedded({ dataDir })).rejects.toMatchObject(
        refusal('has invalid permissions (mode 0755, open to group or others)'),
      )
      await chmod(socketDir, 0o700)

      const real = `${socketDir}-real`
      await rename(socketDir, real)
      await symlink(real, socketDir)
      await expect(openEmbedded({ dataDir })).rejects.toMatchObject(refusal('is a symbolic link'))
      await rm(socketDir)
      await rename(real, socketDir)

      if (isRoot) {
        await chown(socketDir, NOBODY, NOBODY)
        await expect(openEmbedded({ dataDir })).rejects.toMatchObject(
          refusal(`is owned by uid ${NOBODY}, not by uid ${uid} that runs this process`),
        )
        await chown(socketDir, uid, uid)
      }
      expect((await openEmbedded({ dataDir })).holder).toBe(false) // the untouched folder is used
    } finally {
      await db.destroy()
    }
  })

  it('should remove the private socket folder a holder that died left behind', async () => {
    const dataDir = longPath(base, 'stale')
    await mkdir(dataDir, { mode: 0o700 })
    const left = await mkdtemp(join(tmpdir(), 'gatehouse-'))
    const { pid: deadPid } = spawnSync(process.execPath, ['-e', ''])
    await writeFile(join(dataDir, 'gatehouse.lock'), JSON.stringify({ pid: deadPid, socketDir: left }), { mode: 0o600 })
    const db = await createDb({ dataDir, poolSize: 1, embeddedTemplate: template })
    try {
      expect((await sql<{ x: number }>`select 1 as x`.execute(db)).rows).toEqual([{ x: 1 }])
      expect(dbInfo(db).holder).toBe(true)
      expect(dbInfo(db).socketDir).not.toBe(left)
      await expect(lstat(left)).rejects.toMatchObject({ code: 'ENOENT' })
    } finally {
      await db.destroy()
    }
  })

  it('should serve an in-memory database from a private folder, removed on close', async () => {
    const endpoint = await openEmbedded({ dataDir: null, template })
    try {
      expect(dirname(endpoint.socketDir)).toBe(tmpdir())
      expect(await modeOf(endpoint.socketDir)).toBe(0o700)
      expect(await modeOf(join(endpoint.socketDir, SOCKET))).toBe(0o600)
    } finally {
      await endpoint.close()
    }
    await expect(lstat(endpoint.socketDir)).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
