/**
 * Test servers with their lifetimes tied to vitest's hooks, so no test file writes the
 * start/close boilerplate again: one server a whole file (or describe block) shares, or servers
 * each test starts with its own settings.
 */
import type { AddressInfo } from 'node:net'

import { createAuthService } from '@gatehouse/auth'
import { TEST_SECRET_KEY } from '@gatehouse/auth/testing'
import { createDb } from '@gatehouse/db'
import { afterAll, afterEach, beforeAll } from 'vitest'

import { loadConfig } from '../../src/config.js'
import { createHttpServer } from '../../src/http/server.js'
import type { TestServer } from '../../src/testing.js'
import { startTestServer } from '../../src/testing.js'

type StartOptions = Parameters<typeof startTestServer>[1]

/**
 * The one server a file or describe block shares: started in beforeAll, closed in afterAll.
 * The describe body runs before beforeAll, when there is no server yet, so what this returns
 * stands in for it: from beforeAll on `server.url`, `server.createUser()`, `server.db`… are the
 * real server's (a hook registered after this call already sees it).
 * @example
 * const server = sharedServer({ THROTTLE_RATES: 'register=1000/h' })
 * it('…', async () => { await mutation(server.url, 'auth.login', …) })
 */
export function sharedServer(env: Record<string, string> = {}, opts: StartOptions = {}): TestServer {
  let started: TestServer | undefined
  beforeAll(async () => {
    started = await startTestServer(env, opts)
  })
  afterAll(() => started?.close())
  return new Proxy({} as TestServer, {
    get(_target, key) {
      if (!started) throw new Error(`no shared server yet: read server.${String(key)} in a hook or a test`)
      return Reflect.get(started, key, started) as unknown
    },
  })
}

/**
 * For tests that each need a server with settings of their own: `start` starts one (or `track`
 * takes anything else to close), and everything is closed after each test, newest first.
 * @example
 * const { start } = serverPerTest()
 * it('…', async () => { const server = await start({ THROTTLE_ANON: '3/h' }) })
 */
export function serverPerTest() {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  const track = (cleanup: () => Promise<void>) => void cleanups.push(cleanup)
  const start = async (env: Record<string, string> = {}, opts: StartOptions = {}): Promise<TestServer> => {
    const server = await startTestServer(env, opts)
    track(() => server.close())
    return server
  }
  return { start, track }
}

/**
 * An HTTP server whose database is down: port 1 refuses connections, so the pool fails the way
 * a stopped Postgres does. Its URL, the errors it reported as unexpected, and a dispose that
 * closes it (`await using`).
 */
export async function downDatabaseServer() {
  const db = await createDb({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none' })
  const config = loadConfig({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'x'.repeat(32), PASSWORD_HASH_COST: '4' })
  const auth = await createAuthService({
    secretKey: TEST_SECRET_KEY,
    db,
    jwt: { algorithm: 'HS256', secret: config.jwtSecret },
  })
  const errors: unknown[] = []
  const server = createHttpServer({ auth, config, onError: (e) => errors.push(e) })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    errors,
    async [Symbol.asyncDispose]() {
      await new Promise((r) => server.close(r))
      await db.destroy()
    },
  }
}
