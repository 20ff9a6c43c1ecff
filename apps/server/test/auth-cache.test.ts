/**
 * The auth cache's security properties over HTTP, with real processes: two servers on one
 * database (as WORKERS or several hosts run), each caching verified tokens, users, sessions and
 * API keys. A revocation made through one of them, or by the CLI, is refused by both at the very
 * next request: invalidation travels by Postgres NOTIFY, not by a per-request read, and not by
 * waiting for a timer (KEY_REFRESH_INTERVAL is an hour here). A cached token is never served past
 * its exp. The CLI runs as a process of its own here (runCliProcess): the point is another
 * process's change. KEY_ACTIVATION_DELAY is 0 so a rotated key signs at once (keys.test.ts has
 * the delay).
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startTestServer } from '../src/testing.js'
import { login, mutation, query, wire } from './helpers/http.js'
import type { ProcessStore, ServerProcess } from './helpers/process.js'
import { createProcessStore, runCliProcess, startServerProcess } from './helpers/process.js'

const PASSWORD = 'Tr1cky-passphrase'
const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid

/** Status and reason of content.protected for these headers. */
async function protectedAs(base: string, headers: Record<string, string>) {
  const res = await query(base, 'content.protected', { headers })
  return { status: res.status, reason: res.status === 200 ? 'ok' : (res.body.error.data.reason as string) }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const OK = { status: 200, reason: 'ok' }

describe(`${TEST_BACKEND}: auth cache across processes`, () => {
  let store: ProcessStore
  let a: ServerProcess
  let b: ServerProcess
  let n = 0

  beforeAll(async () => {
    store = await createProcessStore('gh_cache', { KEY_REFRESH_INTERVAL: '1h', KEY_ACTIVATION_DELAY: '0' })
    // One first, so it creates the schema (and, on PGlite, holds the folder the other joins).
    a = await startServerProcess(store.env)
    b = await startServerProcess(store.env)
  }, 60_000)
  afterAll(async () => {
    await a?.stop()
    await b?.stop()
    await store?.dispose()
  })

  async function user() {
    const username = `cache${++n}x${Date.now()}`
    expect((await mutation(a.url, 'auth.register', { username, password: PASSWORD })).status).toBe(200)
    return { username, password: PASSWORD }
  }

  /** Warms both caches: the same credential twice on each server. */
  async function warm(headers: Record<string, string>) {
    for (const server of [a, b, a, b]) expect(await protectedAs(server.url, headers)).toEqual(OK)
  }

  it('logout everywhere on one server: its access token, session and API key are refused by both at once', async () => {
    const u = await user()
    const { access } = await login(a.url, u)
    const session = await wire(`${a.url}/trpc/auth.session.login`, {
      method: 'POST',
      body: JSON.stringify(u),
      headers: { 'content-type': 'application/json' },
    })
    const sessionid = /sessionid=([^;]+)/.exec(session.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const key = (await mutation(a.url, 'auth.tokens.create', { name: 'ci' }, access)).body.result.data.key as string
    const credentials = [bearer(access), { cookie: `sessionid=${sessionid}` }, { authorization: `Token ${key}` }]
    for (const headers of credentials) await warm(headers)

    expect((await mutation(b.url, 'auth.logoutAll', {}, access)).status).toBe(200)
    expect((await mutation(b.url, 'auth.tokens.revokeAll', {}, (await login(b.url, u)).access)).status).toBe(200)

    for (const server of [a, b]) {
      expect(await protectedAs(server.url, credentials[0]!)).toEqual({ status: 401, reason: 'TOKEN_REVOKED' })
      expect(await protectedAs(server.url, credentials[1]!)).toEqual({ status: 401, reason: 'SESSION_INVALID' })
      expect(await protectedAs(server.url, credentials[2]!)).toEqual({ status: 401, reason: 'API_TOKEN_INVALID' })
    }
  })

  it('gatehouse deactivate (another process): refused by both servers at the next request', async () => {
    const u = await user()
    const { access } = await login(a.url, u)
    await warm(bearer(access))
    expect((await runCliProcess(['deactivate', u.username], store.env)).code).toBe(0)
    for (const server of [a, b]) {
      expect(await protectedAs(server.url, bearer(access))).toEqual({ status: 401, reason: 'USER_INACTIVE' })
    }
    // Deactivation moved the epoch on: after activation that token stays dead, a new login works.
    expect((await runCliProcess(['activate', u.username], store.env)).code).toBe(0)
    for (const server of [b, a]) {
      expect(await protectedAs(server.url, bearer(access))).toEqual({ status: 401, reason: 'TOKEN_REVOKED' })
      expect(await protectedAs(server.url, bearer((await login(server.url, u)).access))).toEqual(OK)
    }
  })

  it('gatehouse rotatekeys then retirekey: both sign with the new key and refuse the old one at once', async () => {
    const u = await user()
    const old = await login(a.url, u)
    await warm(bearer(old.access))
    const rotated = await runCliProcess(['rotatekeys'], store.env)
    const newKid = /^New signing key (\S+) /.exec(rotated.stdout)?.[1]
    expect(newKid).toBeDefined()
    for (const server of [a, b]) expect(kidOf((await login(server.url, u)).access)).toBe(newKid)
    expect((await runCliProcess(['retirekey', kidOf(old.access)], store.env)).code).toBe(0)
    for (const server of [a, b]) {
      expect(await protectedAs(server.url, bearer(old.access))).toEqual({ status: 401, reason: 'TOKEN_INVALID' })
    }
  })
})

describe(`${TEST_BACKEND}: auth cache and the clock`, () => {
  let now = new Date('2026-03-01T12:00:00Z')
  it('a cached access token is refused once its exp is reached', async () => {
    await using server = await startTestServer({ ACCESS_TOKEN_LIFETIME: '60s' }, { clock: () => now })
    const u = await server.createUser()
    const { access } = await login(server.url, u)
    expect(await protectedAs(server.url, bearer(access))).toEqual(OK)
    expect(server.auth.core.cache?.sizes().tokens).toBe(1)
    now = new Date(now.getTime() + 59_999)
    expect(await protectedAs(server.url, bearer(access))).toEqual(OK)
    now = new Date(now.getTime() + 1)
    expect(await protectedAs(server.url, bearer(access))).toEqual({ status: 401, reason: 'TOKEN_EXPIRED' })
  })

  it('AUTH_CACHE=off: nothing is cached, and everything still works', async () => {
    await using server = await startTestServer({ AUTH_CACHE: 'off' })
    const u = await server.createUser()
    const { access } = await login(server.url, u)
    expect(await protectedAs(server.url, bearer(access))).toEqual(OK)
    expect(server.auth.core.cache).toBeNull()
  })
})
