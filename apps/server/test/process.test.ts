/**
 * The server and the CLI as separate processes, as a user runs them: `pnpm start` and
 * `pnpm gatehouse …` side by side on one embedded data folder, or on Postgres.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { mutation, query } from './helpers/http.js'
import type { ProcessStore } from './helpers/process.js'
import { createProcessStore, runCli, runCliProcess, startServerProcess } from './helpers/process.js'

describe(`${TEST_BACKEND}: server and CLI processes`, () => {
  let store: ProcessStore
  let env: Record<string, string>
  beforeAll(async () => {
    store = await createProcessStore('gh_proc')
    env = store.env
  })
  afterAll(() => store?.dispose())

  it('two servers starting at once on one empty database both come up and serve', async () => {
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)])
    try {
      for (const s of [a, b]) expect((await query(s.url, 'content.protected')).status).toBe(401)
      const u = `twin${Date.now()}`
      expect((await mutation(a.url, 'auth.register', { username: u, password: 'Tr1cky-passphrase' })).status).toBe(200)
      // a token from one process works on the other: keys and users live in the database
      const { access } = (await mutation(a.url, 'auth.login', { username: u, password: 'Tr1cky-passphrase' })).body.result.data
      expect((await query(b.url, 'auth.me', { token: access })).status).toBe(200)
      if (!env['DATABASE_URL']) {
        // psql reaches the embedded database through the same socket as the CLI
        const { stdout } = await promisify(execFile)('psql', ['-h', store.dataDir, '-U', 'postgres', '-d', 'postgres', '-tAc', `select count(*) from users where username = '${u}'`])
        expect(stdout.trim()).toBe('1')
      }
    } finally {
      expect(await b.stop()).toBe(0)
      expect(await a.stop()).toBe(0)
    }
  })

  it('two server processes on one database share their throttle counters', async () => {
    // a day-long window: a fixed window's edge cannot fall between these requests in practice
    const limited = { ...env, THROTTLE_ANON: '5/1d' }
    const [a, b] = await Promise.all([startServerProcess(limited), startServerProcess(limited)])
    try {
      const statuses: number[] = []
      for (let i = 0; i < 3; i++) statuses.push((await query(a.url, 'auth.catalogue')).status)
      for (let i = 0; i < 3; i++) statuses.push((await query(b.url, 'auth.catalogue')).status)
      // five in the window across both processes, then the sixth is refused by the other one
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429])
      const refused = await query(a.url, 'auth.catalogue')
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    } finally {
      expect(await b.stop()).toBe(0)
      expect(await a.stop()).toBe(0)
    }
  })

  it('bad configuration stops the server with one line per bad variable', async () => {
    const result = await startServerProcess({ ...env, PORT: 'x', JWT_ALGORITHM: 'none' }).then(
      () => null,
      (err: Error) => err.message,
    )
    expect(result).toMatch(/PORT: /)
    expect(result).toMatch(/JWT_ALGORITHM: expected one of EdDSA, ES256, RS256, HS256/)
  })

  // Postgres's rule for its data directory: the embedded database's folder is private to the user
  // that runs the server (packages/db/test/embedded-permissions.test.ts has the cases).
  it.skipIf(TEST_BACKEND !== 'pglite')('a DATA_DIR open to other users stops the server with one line naming it and the fix', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gh_open-'))
    try {
      await chmod(dataDir, 0o777)
      const failure = await startServerProcess({ ...env, DATA_DIR: dataDir }).then(
        async (server) => `started: exited with ${await server.stop()}`,
        (err: Error) => err.message,
      )
      expect(failure).toBe(
        `server exited with 1 before listening:\ngatehouse: failed to start: DATA_DIR ${dataDir} has invalid permissions (mode 0777, open to group or others); fix: chmod 700 ${dataDir}\n`,
      )
      expect(await readdir(dataDir)).toEqual([])
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('CLI commands work against a running server, and the seed flow works end to end', async () => {
    await using server = await startServerProcess(env)
    const u = `proc${Date.now()}`
    expect((await runCli(['createsuperuser', '--username', `${u}root`, '--email', 'root@example.com', '--password', 'Sup3r-secret-pass'], env)).stdout).toContain(
      'Superuser created successfully.',
    )
    expect((await mutation(server.url, 'auth.register', { username: u, password: 'Tr1cky-passphrase' })).status).toBe(200)
    const login = (await mutation(server.url, 'auth.login', { username: u, password: 'Tr1cky-passphrase' })).body.result.data
    expect((await query(server.url, 'content.hr', { token: login.access })).status).toBe(403)

    const added = await runCli(['addtogroup', u, 'HR'], env)
    expect(added).toMatchObject({ code: 0, stdout: `Added ${u} to HR.\n` })
    // A role change revokes the access token at once; a refresh carries on with the new role.
    expect((await query(server.url, 'content.hr', { token: login.access })).body.error.data.reason).toBe('TOKEN_REVOKED')
    const renewed = (await mutation(server.url, 'auth.refresh', { refresh: login.refresh })).body.result.data
    expect((await query(server.url, 'content.hr', { token: renewed.access })).status).toBe(200)

    expect((await runCli(['creategroup', 'Editors'], env)).stdout).toMatch(/Group "Editors" (created|already exists)\./)
    expect((await runCli(['removefromgroup', u, 'HR'], env)).stdout).toBe(`Removed ${u} from HR.\n`)
    const after = (await mutation(server.url, 'auth.refresh', { refresh: renewed.refresh })).body.result.data
    expect((await query(server.url, 'content.hr', { token: after.access })).status).toBe(403)

    // the password piped on stdin, never on argv where `ps` shows it (issue 16, item 12)
    // the binary itself, its password piped on stdin as a script would
    expect((await runCliProcess(['changepassword', u], env, 'An0ther-passphrase\n')).code).toBe(0)
    expect((await mutation(server.url, 'auth.login', { username: u, password: 'An0ther-passphrase' })).status).toBe(200)
    expect((await runCli(['rotatekeys'], env)).stdout).toMatch(
      /^New signing key \S+ is published now and signs from \d{4}-\d\d-\d\dT[\d:.]+Z \(KEY_ACTIVATION_DELAY\); older keys still verify\.\n$/,
    )
    expect((await runCli(['flushexpiredtokens'], env)).stdout).toMatch(
      /^Deleted \d+ expired tokens?, \d+ expired sessions? and \d+ expired API keys?\.\n$/,
    )
    expect(await server.stop()).toBe(0)
  })

  it('grant, revoke, activate, deactivate and listusers take effect on the next request', async () => {
    await using server = await startServerProcess(env)
    const u = `twin${Date.now()}`
    await mutation(server.url, 'auth.register', { username: u, password: 'Tr1cky-passphrase' })
    const { access } = (await mutation(server.url, 'auth.login', { username: u, password: 'Tr1cky-passphrase' })).body.result.data
    expect((await query(server.url, 'admin.users.list', { token: access })).status).toBe(403)
    expect(await runCli(['grant', u, 'view_user'], env)).toMatchObject({ code: 0, stdout: `Granted view_user to ${u}.\n` })
    expect((await query(server.url, 'admin.users.list', { token: access })).status).toBe(200)
    expect((await runCli(['revoke', u, 'view_user'], env)).stdout).toBe(`Revoked view_user from ${u}.\n`)
    expect((await query(server.url, 'admin.users.list', { token: access })).status).toBe(403)
    expect((await runCli(['grant', '--group', 'HR', 'view_group'], env)).stdout).toMatch(/^(Granted view_group to group HR|group HR already has view_group)\.\n$/)
    expect((await runCli(['revoke', '--group', 'HR', 'view_group'], env)).code).toBe(0)
    // Another process, as an operator runs it: the server hears of it by NOTIFY (see the note in auth-cache.test.ts).
    expect((await runCliProcess(['deactivate', u], env)).stdout).toBe(`User ${u} deactivated.\n`)
    expect((await query(server.url, 'auth.me', { token: access })).status).toBe(401)
    expect((await runCliProcess(['activate', u], env)).stdout).toBe(`User ${u} activated.\n`)
    // The deactivation moved the token epoch on: the old access token stays dead, a new login works.
    expect((await query(server.url, 'auth.me', { token: access })).body.error.data.reason).toBe('TOKEN_REVOKED')
    const again = (await mutation(server.url, 'auth.login', { username: u, password: 'Tr1cky-passphrase' })).body.result.data
    expect((await query(server.url, 'auth.me', { token: again.access })).status).toBe(200)
    const listed = await runCli(['listusers', '--search', u], env)
    expect(listed.stdout.split('\n')[0]).toBe('id\tusername\temail\tflags\tgroups')
    expect(listed.stdout).toMatch(new RegExp(`^\\d+\\t${u}\\t\\tactive\\t$`, 'm'))
    expect(await server.stop()).toBe(0)
  })

  it('CLI bad input: one clear line and a non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['nosuchcommand'], /^gatehouse: unknown command "nosuchcommand"/],
      [['addtogroup', 'only-one-arg'], /^gatehouse addtogroup: expected USERNAME GROUP/],
      [['addtogroup', 'ghost-user', 'HR'], /^gatehouse addtogroup: No user named "ghost-user"\.$/],
      [['createsuperuser', '--username', 'x'], /^gatehouse createsuperuser: --password is required \(type it at the prompt or pipe it on stdin\): no password on stdin/],
      [['createsuperuser', '--username', 'bad user!', '--password', 'Sup3r-secret-pass'], /username: Enter a valid username/],
      [['createsuperuser', '--username', 'weakling', '--password', '123'], /password: This password is too short/],
      [['changepassword', 'ghost-user', '--password', 'An0ther-passphrase'], /No user named "ghost-user"/],
      [['rotatekeys', '--bogus'], /^gatehouse rotatekeys: Unknown option '--bogus'/],
      [['grant', 'ghost-user', 'view_user'], /^gatehouse grant: No user named "ghost-user"\.$/],
      [['grant', '--group', 'HR', 'fly_plane'], /^gatehouse grant: No permission "fly_plane"\.$/],
      [['revoke', 'only-one'], /^gatehouse revoke: expected USERNAME CODENAME/],
      [['deactivate'], /^gatehouse deactivate: expected USERNAME, got none/],
    ]
    for (const [args, pattern] of cases) {
      const result = await runCli(args, env)
      expect(result.code, args.join(' ')).not.toBe(0)
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
      expect(result.stderr.trim(), args.join(' ')).toMatch(pattern)
    }
  })

  it('finishes in-flight requests on SIGTERM, then exits 0', async () => {
    await using server = await startServerProcess({ ...env, PASSWORD_HASH_COST: '12' })
    const u = `slow${Date.now()}`
    expect((await runCli(['createsuperuser', '--username', u, '--password', 'Sup3r-secret-pass'], { ...env, PASSWORD_HASH_COST: '12' })).code).toBe(0)
    // a cost-12 login takes a few hundred ms: it is in flight when the signal lands
    const inFlight = mutation(server.url, 'auth.login', { username: u, password: 'Sup3r-secret-pass' })
    await new Promise((r) => setTimeout(r, 50))
    const code = server.stop()
    expect((await inFlight).status).toBe(200)
    expect(await code).toBe(0)
    expect(server.output()).toContain('SIGTERM received')
  })

  it('with no server running, the CLI process opens the data folder itself', async () => {
    const result = await runCliProcess(['creategroup', 'Auditors'], env)
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/Group "Auditors"/) })
  })
})
