/**
 * Signing key rotation and retirement, over HTTP: in the process that retires a key, and in a
 * running server after `gatehouse retirekey` (another process) retires it.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startTestServer } from '../src/testing.js'
import { errorBody, mutation, query, wire } from './helpers/http.js'
import type { ProcessStore } from './helpers/process.js'
import { createProcessStore, runCli, startServerProcess } from './helpers/process.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid
const invalid = (path: string) =>
  errorBody({
    message: 'Token is invalid or expired',
    code: 'UNAUTHORIZED',
    httpStatus: 401,
    path,
    reason: 'TOKEN_INVALID',
  })

async function jwksKids(url: string): Promise<string[]> {
  const res = await wire(`${url}/.well-known/jwks.json`)
  return (res.body as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort()
}

describe(`${TEST_BACKEND}: signing keys in one process`, () => {
  it('rotate: new kid in JWKS at once, signing after KEY_ACTIVATION_DELAY; retire: old tokens refused at once', async () => {
    let now = new Date()
    // tokens from before the switch must outlive it
    await using server = await startTestServer({ ACCESS_TOKEN_LIFETIME: '1h' }, { clock: () => now })
    const u = await server.createUser()
    const login = async () =>
      (await mutation(server.url, 'auth.login', { username: u.username, password: u.password })).body.result.data
    const old = await login()
    const oldKid = kidOf(old.access)

    const newKid = await server.auth.rotateKeys()
    // published at once, so JWKS caches downstream hold it before any token names it (issue 16, item 9)
    expect(await jwksKids(server.url)).toEqual([oldKid, newKid].sort())
    expect(kidOf((await login()).access)).toBe(oldKid)
    now = new Date(now.getTime() + 300_000) // the default KEY_ACTIVATION_DELAY, 5 minutes
    const fresh = await login()
    expect(kidOf(fresh.access)).toBe(newKid)
    expect(kidOf(fresh.refresh)).toBe(newKid)
    expect((await query(server.url, 'auth.me', { token: old.access })).status).toBe(200)
    expect(await jwksKids(server.url)).toEqual([oldKid, newKid].sort())

    await server.auth.retireKey(oldKid)
    const me = await query(server.url, 'auth.me', { token: old.access })
    expect(me.status).toBe(401)
    expect(me.body).toEqual(invalid('auth.me'))
    expect((await mutation(server.url, 'auth.refresh', { refresh: old.refresh })).body).toEqual(invalid('auth.refresh'))
    expect((await query(server.url, 'auth.me', { token: fresh.access })).status).toBe(200)
    expect(await jwksKids(server.url)).toEqual([newKid])
  })
})

describe(`${TEST_BACKEND}: gatehouse retirekey against a running server`, () => {
  let store: ProcessStore
  let env: Record<string, string>
  beforeAll(async () => {
    // A one-second bound, so the test need not wait a minute for the server to notice.
    // No activation delay here: this is about how fast a running server sees another process's change.
    store = await createProcessStore('gh_keys', { KEY_REFRESH_INTERVAL: '1s', KEY_ACTIVATION_DELAY: '0' })
    env = store.env
  })
  afterAll(() => store?.dispose())

  it('rotatekeys then retirekey: the server refuses the retired key within KEY_REFRESH_INTERVAL', async () => {
    await using server = await startServerProcess(env)
    const username = `keys${Date.now()}`
    await mutation(server.url, 'auth.register', { username, password: 'Tr1cky-passphrase' })
    const login = async () =>
      (await mutation(server.url, 'auth.login', { username, password: 'Tr1cky-passphrase' })).body.result.data
    const old = await login()
    const oldKid = kidOf(old.access)

    const last = await runCli(['retirekey', oldKid], env)
    expect(last).toMatchObject({ code: 1, stdout: '' })
    expect(last.stderr).toBe(
      `gatehouse retirekey: Signing key "${oldKid}" is the only active key; run rotatekeys first, then retire it.\n`,
    )

    const rotated = await runCli(['rotatekeys'], env)
    const newKid = /^New signing key (\S+) /.exec(rotated.stdout)?.[1] ?? ''
    // Within KEY_REFRESH_INTERVAL the server signs with the new key; old tokens still verify.
    await sleep(1100)
    const fresh = await login()
    expect([kidOf(fresh.access), kidOf(fresh.refresh)]).toEqual([newKid, newKid])
    expect((await query(server.url, 'auth.me', { token: old.access })).status).toBe(200)

    expect(await runCli(['retirekey', oldKid], env)).toMatchObject({
      code: 0,
      stdout: `Signing key ${oldKid} retired; tokens it signed no longer verify.\n`,
    })
    await sleep(1100)
    const me = await query(server.url, 'auth.me', { token: old.access })
    expect(me.status).toBe(401)
    expect(me.body).toEqual(invalid('auth.me'))
    expect((await query(server.url, 'auth.me', { token: fresh.access })).status).toBe(200)
    expect(await jwksKids(server.url)).toEqual([newKid])

    const again = await runCli(['retirekey', oldKid], env)
    expect(again).toMatchObject({
      code: 1,
      stderr: `gatehouse retirekey: Signing key "${oldKid}" is already retired.\n`,
    })
    const unknown = await runCli(['retirekey', 'nope'], env)
    expect(unknown).toMatchObject({ code: 1, stderr: 'gatehouse retirekey: No signing key "nope".\n' })
    const usage = await runCli(['retirekey'], env)
    expect(usage.code).toBe(2)
    expect(usage.stderr).toBe('gatehouse retirekey: expected KID, got none (usage: gatehouse retirekey KID)\n')
    expect(await server.stop()).toBe(0)
  })
})
