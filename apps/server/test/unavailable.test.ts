import type { AddressInfo } from 'node:net'

import { createAuthService } from '@gatehouse/auth'
import { TEST_SECRET_KEY } from '@gatehouse/auth/testing'
import { createDb } from '@gatehouse/db'
import { describe, expect, it } from 'vitest'

import { loadConfig } from '../src/config.js'
import { createHttpServer } from '../src/http/server.js'
import { mutation, wire } from './helpers/http.js'

describe('a database that is down', () => {
  it('answers 503 on /healthz and on procedures, with no stack and no detail of the failure', async () => {
    // Port 1 refuses connections: the pool fails the way a stopped Postgres does.
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
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const health = await wire(`${base}/healthz`)
      expect(health).toMatchObject({ status: 503, body: { status: 'unavailable' } })
      const login = await mutation(base, 'auth.login', { username: 'a', password: 'b' })
      expect(login.status).toBe(503)
      expect(login.body.error).toMatchObject({
        message: 'The database is unavailable; try again later.',
        data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, reason: 'UNAVAILABLE' },
      })
      expect(JSON.stringify(login.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:1|stack/)
      expect(errors).toEqual([]) // an outage is not a bug: nothing logged as unexpected
    } finally {
      await new Promise((r) => server.close(r))
      await db.destroy()
    }
  })
})
