/**
 * Folders only our own user may enter, by Postgres's rule for its data directory (checkDataDir in
 * miscinit.c): owned by the uid the process runs as, and no permission bit for group or others.
 * Postgres also accepts 0750 for group-readable backups; we do not, since the socket folder and the
 * files in it are the only thing between another local user and the database.
 */
import type { Stats } from 'node:fs'
import { chmod, lstat, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

const GROUP_OTHER = 0o077
const OWNER_ONLY_UMASK = 0o077

export interface DirProblem {
  /** What is wrong, as the end of a sentence that starts with the folder: "has invalid permissions (mode 0755, …)". */
  found: string
  /** How the operator puts it right. */
  fix: string
}

/**
 * Why `path` is not a private folder of ours, or null when it is. `followLinks: false` refuses a
 * symbolic link (a folder someone else could point elsewhere); with true, the folder it names is
 * checked, as Postgres does for a data directory given by the operator. Throws ENOENT as fs does.
 * On Windows, which has neither uids nor these modes, every folder passes, as in Postgres.
 */
export async function privateDirProblem(path: string, opts: { followLinks: boolean }): Promise<DirProblem | null> {
  const uid = process.getuid?.()
  if (uid === undefined) return null
  const info: Stats = opts.followLinks ? await stat(path) : await lstat(path)
  if (info.isSymbolicLink()) return { found: 'is a symbolic link', fix: 'use a real folder' }
  if (!info.isDirectory()) return { found: 'is not a directory', fix: 'use a directory' }
  if (info.uid !== uid) {
    return {
      found: `is owned by uid ${info.uid}, not by uid ${uid} that runs this process`,
      fix: `run it as uid ${info.uid}, or use another folder`,
    }
  }
  if ((info.mode & GROUP_OTHER) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0')
    return { found: `has invalid permissions (mode ${mode}, open to group or others)`, fix: `chmod 700 ${path}` }
  }
  return null
}

/**
 * Takes the group and other bits off every file and folder under `root` (itself included) and
 * returns how many it changed. PGlite writes its initdb files 0666 with an explicit chmod, so the
 * umask does not reach them; earlier versions left data folders that way. Symbolic links are
 * skipped: chmod would follow them out of the folder.
 */
export async function tightenTree(root: string): Promise<number> {
  const info = await lstat(root)
  if (info.isSymbolicLink()) return 0
  let changed = 0
  if ((info.mode & GROUP_OTHER) !== 0) {
    await chmod(root, info.mode & 0o7700)
    changed++
  }
  if (info.isDirectory()) {
    const counts = await Promise.all((await readdir(root)).map((name) => tightenTree(join(root, name))))
    for (const count of counts) changed += count
  }
  return changed
}

let umaskHolders = 0
let umaskBefore = 0

/**
 * Sets the process umask to 077 until the returned function is called (by every holder, when
 * several hold data folders in one process), then gives the previous one back. The process that
 * holds a data folder is its database server, and Postgres runs under umask 077 for the same
 * reason: whatever PGlite or the holder creates (WAL segments, new relation folders, the lock,
 * the socket) is born owner-only. A worker thread may not change the umask; there the data
 * folder's own 0700 is the guard.
 */
export function holdOwnerOnlyUmask(): () => void {
  try {
    const previous = process.umask(OWNER_ONLY_UMASK)
    if (umaskHolders++ === 0) umaskBefore = previous
  } catch {
    return () => undefined
  }
  let released = false
  return () => {
    if (released) return
    released = true
    if (--umaskHolders === 0) process.umask(umaskBefore)
  }
}
