/**
 * A real server on a fresh, migrated, isolated database, for tests in any package:
 * `await using server = await startTestServer()` then talk to `server.url`.
 */
import type { Clock } from '@gatehouse/auth'
import { TEST_SECRET_KEY } from '@gatehouse/auth/testing'
import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb } from '@gatehouse/db/testing'

import type { App } from './app.js'
import { startApp } from './app.js'
import { loadConfig } from './config.js'

export interface TestServer extends App {
  testDb: TestDatabase
  /** Creates a user directly (cost-4 bcrypt) and returns its credentials. */
  createUser(opts?: {
    username?: string
    password?: string
    groups?: string[]
    isStaff?: boolean
    isSuperuser?: boolean
  }): Promise<{ id: number; username: string; password: string }>
}

let counter = 0

/** Extra env vars override the test defaults (cost 4, port 0, loopback, a test SECRET_KEY). */
export async function startTestServer(
  env: Record<string, string> = {},
  opts: { shared?: boolean; clock?: Clock; sleep?: (ms: number) => Promise<void> } = {},
): Promise<TestServer> {
  const testDb = await createTestDb({ shared: opts.shared ?? false })
  // HTTP_ADAPTER comes through from the environment: CI runs the whole suite once per adapter (.ci/run).
  // eslint-disable-next-line no-restricted-properties -- the test run's choice, like DATABASE_URL for createTestDb
  const adapter = process.env.HTTP_ADAPTER
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    PASSWORD_HASH_COST: '4',
    HTTP_ADAPTER: adapter,
    // A key of its own, not a file in the working folder's DATA_DIR.
    SECRET_KEY: TEST_SECRET_KEY,
    ...env,
  })
  let app: App
  try {
    app = await startApp({ config, db: testDb.db, clock: opts.clock, sleep: opts.sleep })
  } catch (err) {
    await testDb[Symbol.asyncDispose]()
    throw err
  }
  const close = async () => {
    await app.close()
    await testDb[Symbol.asyncDispose]()
  }
  return {
    ...app,
    testDb,
    close,
    [Symbol.asyncDispose]: close,
    async createUser(o = {}) {
      counter += 1
      const username = o.username ?? `user${process.pid}x${counter}`
      const password = o.password ?? 'correct horse battery staple'
      const user = await app.auth.createUser({
        username,
        password,
        isStaff: o.isStaff ?? false,
        isSuperuser: o.isSuperuser ?? false,
        skipValidation: true,
      })
      for (const group of o.groups ?? []) {
        await app.auth.createGroup(group)
        await app.auth.addToGroup(username, group)
      }
      return { id: user.id, username, password }
    },
  }
}
