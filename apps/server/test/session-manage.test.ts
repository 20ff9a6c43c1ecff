/**
 * The auth.session.* procedures over raw HTTP: listing the caller's sessions, revoking one or all
 * the others, and logging out (the cookie cleared, a replay refused, a forged logout ignored).
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { describe, expect, it } from 'vitest'

import { setCookieLines } from './helpers/cookies.js'
import { errorBody, login, query, wire } from './helpers/http.js'
import { SESSION_CLEARED, sessionIdOf, sessionLogin, sessionServer } from './helpers/session.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now

describe(`${TEST_BACKEND}: sessions over HTTP: list, revoke and logout`, () => {
  const server = sessionServer(clock)

  describe('list, revoke, revokeOthers, logout', () => {
    it('lists the caller’s live sessions, marking the current one', async () => {
      now = START
      const { client: first, user } = await sessionLogin(server)
      const { client: second } = await sessionLogin(server, user)
      await sessionLogin(server) // someone else's
      const items = (await first.query('auth.session.list')).body.result.data.items as {
        id: string
        current: boolean
      }[]
      expect(items).toHaveLength(2)
      expect(items.find((i) => i.current)?.id).toBe(sessionIdOf(first))
      expect(items.find((i) => !i.current)?.id).toBe(sessionIdOf(second))
      // A Bearer caller sees the same sessions, none of them current.
      const { access } = await login(server.url, user)
      const viaBearer = (await query(server.url, 'auth.session.list', { token: access })).body.result.data.items as {
        current: boolean
      }[]
      expect(viaBearer.map((i) => i.current)).toEqual([false, false])
      expect((await query(server.url, 'auth.session.list')).status).toBe(401)
    })

    it('revokes one of the caller’s sessions; someone else’s id or a missing one is 404', async () => {
      now = START
      const { client: first, user } = await sessionLogin(server)
      const { client: second } = await sessionLogin(server, user)
      const { client: stranger } = await sessionLogin(server)
      for (const id of [sessionIdOf(stranger), 'f'.repeat(32)]) {
        const res = await first.mutation('auth.session.revoke', { input: { id } })
        expect(res.status).toBe(404)
        expect(res.body).toEqual(
          errorBody({
            message: 'Not found.',
            code: 'NOT_FOUND',
            httpStatus: 404,
            path: 'auth.session.revoke',
            reason: 'NOT_FOUND',
          }),
        )
      }
      expect((await stranger.query('auth.me')).status).toBe(200)
      const res = await first.mutation('auth.session.revoke', { input: { id: sessionIdOf(second) } })
      expect(res.status).toBe(200)
      expect(res.body.result.data).toEqual({ detail: 'Session revoked.' })
      expect(setCookieLines(res)).toEqual([])
      expect((await second.query('auth.me')).body.error.data.reason).toBe('SESSION_INVALID')
      // Revoking the session in use also clears its cookie.
      const own = await first.mutation('auth.session.revoke', { input: { id: sessionIdOf(first) } })
      expect(setCookieLines(own)).toEqual([SESSION_CLEARED])
      expect(first.get('sessionid')).toBeUndefined()
    })

    it('revokes all the caller’s other sessions and keeps the current one', async () => {
      now = START
      const { client: first, user } = await sessionLogin(server)
      const others = [await sessionLogin(server, user), await sessionLogin(server, user)]
      const { client: stranger } = await sessionLogin(server)
      const res = await first.mutation('auth.session.revokeOthers')
      expect(res.body.result.data).toEqual({ detail: 'Sessions revoked.', revoked: 2 })
      for (const other of others) expect((await other.client.query('auth.me')).status).toBe(401)
      expect((await first.query('auth.me')).status).toBe(200)
      expect((await stranger.query('auth.me')).status).toBe(200)
      const events = await server.db
        .selectFrom('audit_events')
        .select(['event', 'detail'])
        .where('user_id', '=', user.id)
        .where('event', '=', 'session.revoked')
        .execute()
      expect(events).toEqual([{ event: 'session.revoked', detail: { ids: expect.any(Array), via: 'revoke_others' } }])
    })

    it('logs out: ends the session, clears the cookie, and a replay is refused', async () => {
      now = START
      const { client, user } = await sessionLogin(server)
      const key = client.get('sessionid')
      const res = await client.mutation('auth.session.logout')
      expect(res.status).toBe(200)
      expect(res.body.result.data).toEqual({ detail: 'Successfully logged out.' })
      expect(setCookieLines(res)).toEqual([SESSION_CLEARED])
      const replay = await query(server.url, 'auth.me', { headers: { cookie: `sessionid=${key}` } })
      expect(replay.body.error.data.reason).toBe('SESSION_INVALID')
      const revoked = await server.db
        .selectFrom('audit_events')
        .select('detail')
        .where('user_id', '=', user.id)
        .where('event', '=', 'session.revoked')
        .executeTakeFirst()
      expect(revoked?.detail).toEqual({ id: key?.split('.')[0], via: 'logout' })
    })

    it('clears the cookie even without a live session', async () => {
      const json = { 'content-type': 'application/json' }
      for (const headers of [json, { ...json, cookie: 'sessionid=forged' }]) {
        const res = await wire(`${server.url}/trpc/auth.session.logout`, { method: 'POST', headers })
        expect(res.status).toBe(200)
        expect(res.body.result.data).toEqual({ detail: 'Successfully logged out.' })
        expect(setCookieLines(res)).toEqual([SESSION_CLEARED])
      }
    })

    it('keeps a live session when the logout fails CSRF (a forged logout changes nothing)', async () => {
      now = START
      const { client } = await sessionLogin(server)
      const res = await client.mutation('auth.session.logout', { origin: 'https://evil.example' })
      expect(res.status).toBe(403)
      expect(setCookieLines(res)).toEqual([])
      expect((await client.query('auth.me')).status).toBe(200)
    })
  })
})
