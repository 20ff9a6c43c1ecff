import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { holdOwnerOnlyUmask, privateDirProblem, tightenTree } from '../src/internal/private-dir.js'

const uid = process.getuid?.() ?? -1
const isRoot = uid === 0
const NOBODY = 65_534
const modeOf = async (path: string) => (await stat(path)).mode & 0o777
/** Reads the process umask (Node has no getter that does not set it). */
function currentUmask(): number {
  const mask = process.umask(0o022)
  process.umask(mask)
  return mask
}

describe('private folders (internal/private-dir.ts)', () => {
  let base: string
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'gh-private-'))
  })
  afterAll(() => rm(base, { recursive: true, force: true }))

  it('should accept a folder of ours with no group or other bits', async () => {
    const dir = join(base, 'ok')
    await mkdir(dir, { mode: 0o700 })
    expect(await privateDirProblem(dir, { followLinks: false })).toBeNull()
  })

  it('should name the mode and the chmod that fixes it for any group or other bit', async () => {
    for (const mode of [0o710, 0o701, 0o770, 0o755]) {
      const dir = join(base, `mode-${mode.toString(8)}`)
      await mkdir(dir)
      await chmod(dir, mode)
      expect(await privateDirProblem(dir, { followLinks: false })).toEqual({
        found: `has invalid permissions (mode 0${mode.toString(8)}, open to group or others)`,
        fix: `chmod 700 ${dir}`,
      })
    }
  })

  it.skipIf(!isRoot)('should name the owner of a folder that is not ours (needs root to chown)', async () => {
    const dir = join(base, 'foreign')
    await mkdir(dir, { mode: 0o700 })
    await chown(dir, NOBODY, NOBODY)
    expect(await privateDirProblem(dir, { followLinks: false })).toEqual({
      found: `is owned by uid ${NOBODY}, not by uid ${uid} that runs this process`,
      fix: `run it as uid ${NOBODY}, or use another folder`,
    })
  })

  it('should refuse a symbolic link unless told to follow it, and a file', async () => {
    const target = join(base, 'target')
    await mkdir(target, { mode: 0o700 })
    const link = join(base, 'link')
    await symlink(target, link)
    expect(await privateDirProblem(link, { followLinks: false })).toEqual({
      found: 'is a symbolic link',
      fix: 'use a real folder',
    })
    expect(await privateDirProblem(link, { followLinks: true })).toBeNull()
    const file = join(base, 'file')
    await writeFile(file, '', { mode: 0o600 })
    expect(await privateDirProblem(file, { followLinks: false })).toEqual({
      found: 'is not a directory',
      fix: 'use a directory',
    })
    await expect(privateDirProblem(join(base, 'missing'), { followLinks: false })).rejects.toMatchObject({
      code: 'ENOENT',
    })
  })

  it('should take group and other bits off a whole tree, and leave what a link points to alone', async () => {
    const root = join(base, 'tree')
    await mkdir(join(root, 'a', 'b'), { recursive: true })
    await writeFile(join(root, 'a', 'b', 'wal'), 'secret')
    await writeFile(join(root, 'kept'), 'x')
    const outside = join(base, 'outside')
    await writeFile(outside, 'not ours to change')
    await symlink(outside, join(root, 'a', 'link'))
    for (const [path, mode] of [
      [root, 0o777],
      [join(root, 'a'), 0o755],
      [join(root, 'a', 'b'), 0o750],
      [join(root, 'a', 'b', 'wal'), 0o666],
      [join(root, 'kept'), 0o600],
      [outside, 0o644],
    ] as const) {
      await chmod(path, mode)
    }
    expect(await tightenTree(root)).toBe(4)
    expect(
      await Promise.all(
        [root, join(root, 'a'), join(root, 'a', 'b'), join(root, 'a', 'b', 'wal'), join(root, 'kept')].map(modeOf),
      ),
    ).toEqual([0o700, 0o700, 0o700, 0o600, 0o600])
    expect(await modeOf(outside)).toBe(0o644)
    expect(await tightenTree(root)).toBe(0)
  })

  it('should hold umask 077 while any holder holds it, and give the previous one back after the last', () => {
    const before = currentUmask()
    const first = holdOwnerOnlyUmask()
    const second = holdOwnerOnlyUmask()
    expect(currentUmask()).toBe(0o077)
    first()
    first() // a second release of the same hold changes nothing
    expect(currentUmask()).toBe(0o077)
    second()
    expect(currentUmask()).toBe(before)
  })
})
