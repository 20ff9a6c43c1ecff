import { describe, expect, it } from 'vitest'

import { mutation, wire } from './helpers/http.js'
import { downDatabaseServer } from './helpers/server.js'

describe('a database that is down', () => {
  it('answers 503 on /healthz and on procedures, with no stack and no detail of the failure', async () => {
    await using down = await downDatabaseServer()
    const base = down.url
    const health = await wire(`${base}/healthz`)
    expect(health).toMatchObject({ status: 503, body: { status: 'unavailable' } })
    const login = await mutation(base, 'auth.login', { username: 'a', password: 'b' })
    expect(login.status).toBe(503)
    expect(login.body.error).toMatchObject({
      message: 'The database is unavailable; try again later.',
      data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, reason: 'UNAVAILABLE' },
    })
    expect(JSON.stringify(login.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:1|stack/)
    expect(down.errors).toEqual([]) // an outage is not a bug: nothing logged as unexpected
  })
})
