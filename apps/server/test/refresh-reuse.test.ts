/**
 * Refresh token reuse over HTTP, with the server's clock in the test's hand.
 *
 * Two tabs of one browser in cookie mode share the `refresh` cookie and may refresh it at the same
 * moment: within REFRESH_REUSE_INTERVAL (10 s by default) of its rotation, a rotated token gets a
 * new pair of the same family instead of revoking it. Past the window the same replay is reuse:
 * every refresh token of the family is blacklisted and every access token of the user stops (the
 * epoch moves on), at once, the auth cache included, and a rotation racing the revocation cannot
 * leave a token alive.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeEach, describe, expect, it } from 'vitest'

import { errorBody, login, loginAs, mutation, query } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const START = new Date('2026-06-01T08:00:00Z')
let now = START
const clock = () => now
const advance = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000)
}

interface Pair {
  access: string
  refresh: string
}

const blacklisted = errorBody({
  message: 'Token is blacklisted',
  code: 'UNAUTHORIZED',
  httpStatus: 401,
  path: 'auth.refresh',
  reason: 'TOKEN_BLACKLISTED',
})
const revoked = errorBody({
  message: 'Token has been revoked',
  code: 'UNAUTHORIZED',
  httpStatus: 401,
  path: 'auth.me',
  reason: 'TOKEN_REVOKED',
})

describe(`${TEST_BACKEND}: refresh token reuse (REFRESH_REUSE_INTERVAL, default 10s)`, () => {
  const server = sharedServer({}, { clock })
  beforeEach(() => {
    // Forward only: every test starts past the last one's tokens' windows, never before their iat.
    advance(60)
  })

  const refresh = (token: string) => mutation(server.url, 'auth.refresh', { refresh: token })
  const me = (access: string) => query(server.url, 'auth.me', { token: access })
  const pairOf = (res: { body: any }) => res.body.result.data as Pair

  /** The user's token.* audit rows, oldest first. */
  async function tokenEvents(userId: number) {
    const rows = await server.db
      .selectFrom('audit_events')
      .select(['event', 'detail'])
      .where('user_id', '=', userId)
      .where('event', 'like', 'token.%')
      .orderBy('id')
      .execute()
    return rows.map((r) => ({ event: r.event, detail: r.detail }))
  }

  it('should keep two tabs that refresh one token at once logged in, in one family', async () => {
    const u = await loginAs(server)
    const [a, b] = await Promise.all([refresh(u.refresh), refresh(u.refresh)])
    expect([a.status, b.status]).toEqual([200, 200])
    const [pa, pb] = [pairOf(a), pairOf(b)]
    expect(new Set([u.refresh, pa.refresh, pb.refresh]).size).toBe(3)
    for (const access of [u.access, pa.access, pb.access]) expect((await me(access)).status).toBe(200)
    // Both tabs carry on: each new refresh token rotates in its turn.
    advance(1)
    for (const pair of [pa, pb]) {
      const next = await refresh(pair.refresh)
      expect(next.status).toBe(200)
      expect((await me(pairOf(next).access)).status).toBe(200)
    }
    const events = await tokenEvents(u.id)
    const familyId = events[0]?.detail['familyId']
    expect(familyId).toEqual(expect.any(String))
    expect(events).toEqual([
      { event: 'token.refreshed', detail: { familyId } },
      { event: 'token.refreshed', detail: { familyId, grace: true } },
      { event: 'token.refreshed', detail: { familyId } },
      { event: 'token.refreshed', detail: { familyId } },
    ])
  })

  it('should give every one of twenty concurrent refreshes of one token a working pair', async () => {
    const u = await loginAs(server)
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(u.refresh)))
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200))
    const pairs = results.map(pairOf)
    expect(new Set(pairs.map((p) => p.refresh)).size).toBe(20)
    for (const p of pairs) expect((await me(p.access)).status).toBe(200)
    const events = await tokenEvents(u.id)
    expect(events.filter((e) => e.detail['grace'] === undefined)).toHaveLength(1) // one rotation
    expect(events.filter((e) => e.detail['grace'] === true)).toHaveLength(19)
  })

  it('should grant the window from the rotation: a replay 10 s after is served, 11 s after is reuse', async () => {
    const u = await loginAs(server)
    expect((await refresh(u.refresh)).status).toBe(200)
    advance(10)
    expect((await refresh(u.refresh)).status).toBe(200)
    advance(1)
    const late = await refresh(u.refresh)
    expect([late.status, late.body]).toEqual([401, blacklisted])
  })

  it('attack: a replay past the window kills every token of the family at once, access tokens included', async () => {
    const u = await loginAs(server)
    const other = await login(server.url, u) // another device of the same user: another family
    expect((await me(u.access)).status).toBe(200) // cached by the auth cache from here
    const rotated = pairOf(await refresh(u.refresh))
    expect((await me(rotated.access)).status).toBe(200)
    expect((await me(rotated.access)).status).toBe(200)
    advance(11)

    const replay = await refresh(u.refresh)
    expect([replay.status, replay.body]).toEqual([401, blacklisted])

    // At once, with no settle() of our own: the replay's response waited for the NOTIFY.
    for (const access of [rotated.access, u.access]) {
      const res = await me(access)
      expect([res.status, res.body]).toEqual([401, revoked])
    }
    const live = await refresh(rotated.refresh)
    expect([live.status, live.body]).toEqual([401, blacklisted])
    const verified = await mutation(server.url, 'auth.verify', { token: rotated.refresh })
    expect(verified.body.error.data.reason).toBe('TOKEN_BLACKLISTED')

    // The user's other login stops too (the epoch moved on), and refreshes back with its own token.
    expect((await me(other.access)).body.error.data.reason).toBe('TOKEN_REVOKED')
    const back = await refresh(other.refresh)
    expect(back.status).toBe(200)
    expect((await me(pairOf(back).access)).status).toBe(200)

    const events = await tokenEvents(u.id)
    const familyId = events[0]?.detail['familyId']
    expect(events.slice(0, 2)).toEqual([
      { event: 'token.refreshed', detail: { familyId } },
      { event: 'token.reuse_detected', detail: { familyId } },
    ])
  })

  it('attack: a replay past the window within a second replay’s window is still refused', async () => {
    const u = await loginAs(server)
    const rotated = pairOf(await refresh(u.refresh))
    advance(11)
    expect((await refresh(u.refresh)).status).toBe(401)
    // The family is revoked: neither token comes back, in the window of nothing.
    expect((await refresh(u.refresh)).body).toEqual(blacklisted)
    expect((await refresh(rotated.refresh)).body).toEqual(blacklisted)
  })

  it('attack: a replay within the window of a token whose login was logged out is refused', async () => {
    const u = await loginAs(server)
    const rotated = pairOf(await refresh(u.refresh))
    expect((await mutation(server.url, 'auth.logout', { refresh: rotated.refresh })).status).toBe(200)
    expect((await refresh(u.refresh)).body).toEqual(blacklisted)
    expect((await refresh(rotated.refresh)).body).toEqual(blacklisted)
  })

  it('attack: a replay within the window of a tab’s sibling after the other tab logged out is refused', async () => {
    const u = await loginAs(server)
    const [a, b] = (await Promise.all([refresh(u.refresh), refresh(u.refresh)])).map(pairOf)
    // One tab logs out: the login ends, the other tab's branch of it included.
    expect((await mutation(server.url, 'auth.logout', { refresh: a!.refresh })).status).toBe(200)
    expect((await refresh(b!.refresh)).body).toEqual(blacklisted)
    expect((await refresh(u.refresh)).body).toEqual(blacklisted)
  })

  it('attack: a replay within the window after a password change revives nothing', async () => {
    const u = await loginAs(server)
    expect((await refresh(u.refresh)).status).toBe(200)
    await server.auth.changePassword(u.username, 'An0ther-passphrase', { skipValidation: true })
    expect((await refresh(u.refresh)).body).toEqual(blacklisted)
  })

  it('attack: a reuse racing rotations of the family’s live token leaves no token of it alive', async () => {
    for (let round = 0; round < 8; round++) {
      const u = await loginAs(server)
      const live = pairOf(await refresh(u.refresh))
      advance(11)
      const results = await Promise.allSettled([
        ...Array.from({ length: 6 }, () => refresh(live.refresh)),
        refresh(u.refresh), // the replay: reuse, past the window
        ...Array.from({ length: 6 }, () => refresh(live.refresh)),
      ])
      const issued = results.flatMap((r) =>
        r.status === 'fulfilled' && r.value.status === 200 ? [pairOf(r.value)] : [],
      )
      for (const r of results) {
        const answer = r.status === 'fulfilled' ? [r.value.status, r.value.body.error?.data.reason] : r.reason
        expect([
          [200, undefined],
          [401, 'TOKEN_BLACKLISTED'],
        ]).toContainEqual(answer)
      }
      for (const pair of [live, ...issued]) {
        expect((await refresh(pair.refresh)).body).toEqual(blacklisted)
        expect((await me(pair.access)).body).toEqual(revoked)
      }
    }
  })
})

describe(`${TEST_BACKEND}: refresh token reuse with REFRESH_REUSE_INTERVAL=0`, () => {
  const server = sharedServer({ REFRESH_REUSE_INTERVAL: '0' }, { clock })

  it('treats any second presentation of a rotated token as reuse, revoking the family', async () => {
    const u = await server.createUser()
    const first = await login(server.url, u)
    const rotated = (await mutation(server.url, 'auth.refresh', { refresh: first.refresh })).body.result.data as Pair
    const again = await mutation(server.url, 'auth.refresh', { refresh: first.refresh })
    expect([again.status, again.body]).toEqual([401, blacklisted])
    expect((await mutation(server.url, 'auth.refresh', { refresh: rotated.refresh })).body).toEqual(blacklisted)
    expect((await query(server.url, 'auth.me', { token: rotated.access })).body).toEqual(revoked)
  })

  it('should only redeem a refresh token once under twenty concurrent rotations', async () => {
    const u = await server.createUser()
    const { refresh } = await login(server.url, u)
    const results = await Promise.all(
      Array.from({ length: 20 }, () => mutation(server.url, 'auth.refresh', { refresh })),
    )
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    for (const r of results.filter((x) => x.status !== 200)) expect([r.status, r.body]).toEqual([401, blacklisted])
  })
})
