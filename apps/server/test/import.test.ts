/**
 * `gatehouse importusers FILE` as a user runs it, beside a running server: Django users log in
 * with their old passwords and are moved to bcrypt on the way; a bad file imports nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import type { Db } from '@gatehouse/db'
import { createDb } from '@gatehouse/db'
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { mutation } from './helpers/http.js'
import type { ProcessStore, ServerProcess } from './helpers/process.js'
import { createProcessStore, runCli, startServerProcess } from './helpers/process.js'

const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url))
// Django's test vector: the fixtures' pbkdf2_sha256 hashes are of this password.
const OLD_PASSWORD = 'lètmein'

describe(`${TEST_BACKEND}: gatehouse importusers`, () => {
  let store: ProcessStore
  let env: Record<string, string>
  let server: ServerProcess
  let db: Db

  beforeAll(async () => {
    store = await createProcessStore('gh_import')
    env = store.env
    server = await startServerProcess(env)
    // The test reads stored hashes itself, through the server's socket on PGlite.
    db = await createDb({ databaseUrl: env['DATABASE_URL'], dataDir: store.dataDir, poolSize: 1 })
  })
  afterAll(async () => {
    await db?.destroy()
    await server?.stop()
    await store?.dispose()
  })

  const login = (username: string, password: string) => mutation(server.url, 'auth.login', { username, password })
  const hashOf = async (username: string) =>
    (await db.selectFrom('users').select('password').where('username', '=', username).executeTakeFirstOrThrow())
      .password

  it('imports dumpdata JSON; the users log in with their old passwords and are rehashed to bcrypt', async () => {
    const run = await runCli(['importusers', fixture('django-users.json')], env)
    expect(run).toEqual({
      code: 0,
      stdout:
        'Imported 3 users and 1 group (2 without a usable password: bob (argon2), carol (unusable); ' +
        '1 group existed already: HR; 3 permission ids skipped: dump with --natural-foreign to map them).\n',
      stderr: '',
    })
    expect(await hashOf('alice')).toMatch(/^pbkdf2_sha256\$260000\$/)

    const res = await login('alice', OLD_PASSWORD)
    expect(res.status).toBe(200)
    expect(res.body.result.data.user).toEqual({
      id: 3,
      username: 'alice',
      email: 'alice@example.com',
      isStaff: true,
      isSuperuser: false,
      groups: ['HR', 'Reviewers'],
      dateJoined: '2024-05-01T09:30:00.123Z',
    })
    expect(await hashOf('alice')).toMatch(/^bcrypt_sha256\$\$2b\$04\$/)
    expect((await login('alice', OLD_PASSWORD)).status).toBe(200)

    // an argon2 hash cannot be checked here: imported, but no password opens it
    const bob = await login('bob', OLD_PASSWORD)
    expect(bob.status).toBe(401)
    expect(bob.body.error.message).toBe('Invalid credentials')

    // the same file again: everyone exists, nothing changes
    const again = await runCli(['importusers', fixture('django-users.json')], env)
    expect(again.stdout).toBe(
      'Imported 0 users and 0 groups (3 skipped: alice, bob, carol exist; 2 groups existed already: Reviewers, HR; ' +
        '2 permission ids skipped: dump with --natural-foreign to map them).\n',
    )
  })

  it('imports natural keys and CSV', async () => {
    const natural = await runCli(['importusers', fixture('django-users-natural.json')], env)
    expect(natural).toMatchObject({
      code: 0,
      stdout: 'Imported 1 user and 1 group (1 permission not found here: add_logentry).\n',
    })
    const csv = await runCli(['importusers', fixture('django-users.csv')], env)
    expect(csv).toMatchObject({
      code: 0,
      stdout: 'Imported 2 users and 0 groups (2 groups existed already: Reviewers, Blog editors).\n',
    })
    for (const username of ['dave', 'erin', 'frank']) {
      const res = await login(username, OLD_PASSWORD)
      expect(res.status, username).toBe(200)
      expect(await hashOf(username)).toMatch(/^bcrypt_sha256\$/)
    }
    const { access } = (await login('dave', OLD_PASSWORD)).body.result.data
    const me = await fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${access}` } })
    expect((await me.json()).result.data).toMatchObject({
      user: { username: 'dave', groups: ['Blog editors'] },
      permissions: ['change_article', 'view_user'],
    })
    const erin = (await login('erin', OLD_PASSWORD)).body.result.data.user
    expect(erin).toMatchObject({ id: 41, isStaff: true, groups: ['Blog editors', 'Reviewers'] })
  })

  it('imports nothing from a file with one bad record, and says which in one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-import-bad-'))
    try {
      const good = { model: 'auth.user', pk: 90, fields: { username: 'good_one', password: '' } }
      const bad = { model: 'auth.user', pk: 91, fields: { username: 'bad one!', password: '' } }
      const file = join(dir, 'bad.json')
      await writeFile(file, JSON.stringify([good, bad]))
      const run = await runCli(['importusers', file], env)
      expect(run).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `gatehouse importusers: ${file}: record 2 (auth.user "bad one!"): username: Enter a valid username. ` +
          'This value may contain only letters, numbers, and @/./+/-/_ characters.\n',
      })
      expect(await db.selectFrom('users').select('id').where('username', '=', 'good_one').execute()).toEqual([])

      const missing = await runCli(['importusers', join(dir, 'nope.json')], env)
      expect(missing).toMatchObject({
        code: 1,
        stderr: `gatehouse importusers: cannot read ${join(dir, 'nope.json')}: no such file\n`,
      })
      const usage = await runCli(['importusers'], env)
      expect(usage).toMatchObject({
        code: 2,
        stderr: 'gatehouse importusers: expected FILE, got none (usage: gatehouse importusers FILE)\n',
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
