/**
 * Test servers with their lifetimes tied to vitest's hooks, so no test file writes the
 * start/close boilerplate again: one server a whole file (or describe block) shares, or servers
 * each test starts with its own settings.
 */
import { afterAll, afterEach, beforeAll } from 'vitest'

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
