/**
 * The audit log over the wire: what each security event records (time, user, address, user agent,
 * detail, never a secret), and admin.audit.list, which only view_auditevent holders may read.
 */
import { createHash } from 'node:crypto'

import { TEST_BACKEND } from '@gatehouse/db/testing'
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'

import { startTestServer } from '../src/testing.js'
import type { NewUser } from './helpers/http.js'
import { errorBody, loginAs, mutation, query, ROOT, wire } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const UA = 'audit-test/1.0 (+https://example.com)'
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

describe(`${TEST_BACKEND}: the audit log`, () => {
  const server = sharedServer({}, { clock: () => new Date(Date.now() + aheadMs) })
  let root: string
  /** The server's clock runs with real time, moved ahead by the tests that need it. */
  let aheadMs = 0
  beforeAll(async () => {
    root = (await loginAs(server, ROOT)).access
  })

  /** A mutation from a client that names itself, so the user agent shows in the log. */
  const post = (path: string, input: unknown, token?: string) =>
    wire(`${server.url}/trpc/${path}`, {
      method: 'POST',
      body: JSON.stringify(input),
      headers: {
        'content-type': 'application/json',
        'user-agent': UA,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    })
  const get = (path: string, token?: string) =>
    wire(`${server.url}/trpc/${path}`, {
      headers: { 'user-agent': UA, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    })
  async function list(input: Record<string, unknown>) {
    const res = await query(server.url, 'admin.audit.list', { input, token: root })
    expect(res.status).toBe(200)
    return res.body.result.data as { items: Record<string, any>[]; nextCursor: number | null }
  }
  /** The user's events, oldest first. */
  const eventsOf = async (userId: number) => (await list({ userId, limit: 200 })).items.reverse()
  /** A new user, signed in from the client that names itself. */
  const signedIn = (opts: NewUser = {}) => loginAs(server, opts, { 'user-agent': UA })

  it('records logins that succeed and fail with the time, user, address and user agent', async () => {
    const u = await server.createUser()
    expect((await post('auth.login', { username: u.username, password: 'wrong-passphrase' })).status).toBe(401)
    expect((await post('auth.login', { username: u.username, password: u.password })).status).toBe(200)
    const { items } = await list({ username: u.username })
    expect(items).toEqual([
      {
        id: expect.any(Number),
        at: expect.stringMatching(ISO),
        event: 'login.succeeded',
        userId: u.id,
        username: u.username,
        address: '127.0.0.1',
        userAgent: UA,
        detail: { via: 'jwt' },
      },
      {
        id: expect.any(Number),
        at: expect.stringMatching(ISO),
        event: 'login.failed',
        userId: u.id,
        username: u.username,
        address: '127.0.0.1',
        userAgent: UA,
        detail: { via: 'jwt', why: 'wrong_password' },
      },
    ])
    expect(items[0]?.id).toBeGreaterThan(items[1]?.id as number)
  })

  it('records refresh, a reused refresh token revoking its family, and logout, by family and never by token', async () => {
    const u = await signedIn()
    const rotated = await post('auth.refresh', { refresh: u.refresh })
    expect(rotated.status).toBe(200)
    // the old refresh token again, past REFRESH_REUSE_INTERVAL: two parties hold it, the family is revoked
    aheadMs += 11_000
    const reused = await post('auth.refresh', { refresh: u.refresh })
    expect(reused.status).toBe(401)
    expect(reused.body.error.data.reason).toBe('TOKEN_BLACKLISTED')
    expect((await post('auth.logout', { refresh: rotated.body.result.data.refresh })).status).toBe(200)

    const events = await eventsOf(u.id)
    expect(events.map((e) => e.event)).toEqual(['login.succeeded', 'token.refreshed', 'token.reuse_detected', 'logout'])
    const familyId = events[1]?.detail.familyId as string
    expect(familyId).toMatch(/^\S{16,}$/)
    for (const e of events.slice(1)) {
      expect(e).toMatchObject({
        userId: u.id,
        username: u.username,
        address: '127.0.0.1',
        userAgent: UA,
        detail: { familyId },
      })
    }
    const text = JSON.stringify(events)
    for (const token of [u.refresh, u.access, rotated.body.result.data.refresh, rotated.body.result.data.access]) {
      expect(text).not.toContain(token)
    }
  })

  it('records API keys obtained, created and revoked by id and name, never the key', async () => {
    const u = await server.createUser()
    const { token: obtained } = (await post('auth.tokens.obtain', { username: u.username, password: u.password })).body
      .result.data
    const { access } = (await post('auth.login', { username: u.username, password: u.password })).body.result.data
    const created = (await post('auth.tokens.create', { name: 'deploy' }, access)).body.result.data
    expect((await post('auth.tokens.revoke', { id: created.token.id }, access)).status).toBe(200)
    expect((await post('auth.tokens.revokeAll', undefined, access)).body.result.data.revoked).toBe(1)

    const events = (await eventsOf(u.id)).filter((e) => e.event.startsWith('api_token.'))
    expect(events.map((e) => [e.event, e.detail])).toEqual([
      // A DRF key's id is the first 24 hex of its SHA-256 (it has no id part of its own).
      [
        'api_token.created',
        { id: createHash('sha256').update(obtained).digest('hex').slice(0, 24), name: 'default', via: 'obtain' },
      ],
      ['api_token.created', { id: created.token.id, name: 'deploy' }],
      ['api_token.revoked', { id: created.token.id }],
      ['api_token.revoked', { count: 1 }],
    ])
    for (const e of events) expect(e).toMatchObject({ username: u.username, address: '127.0.0.1', userAgent: UA })
    const text = JSON.stringify(events)
    expect(text).not.toContain(obtained)
    expect(text).not.toContain(created.key)
  })

  it('records a 403 as permission.denied with the procedure and the refusing permission, and no anonymous 401', async () => {
    const u = await signedIn()
    const owner = await signedIn()
    expect((await get('content.admin', u.access)).status).toBe(403)
    const article = (await post('articles.create', { title: 't', body: 'b' }, owner.access)).body.result.data.article
    expect((await post('articles.update', { id: article.id, title: 'mine now' }, u.access)).status).toBe(403)

    const denied = (await eventsOf(u.id)).filter((e) => e.event === 'permission.denied')
    expect(denied).toEqual([
      expect.objectContaining({
        username: u.username,
        address: '127.0.0.1',
        userAgent: UA,
        detail: {
          path: 'content.admin',
          permission: 'HasGroup(Admin)',
          message: 'You do not have permission to perform this action.',
        },
      }),
      expect.objectContaining({
        detail: {
          path: 'articles.update',
          permission: expect.any(String),
          message: 'You do not have permission to perform this action.',
          objectId: article.id,
        },
      }),
    ])

    const before = (await list({ event: 'permission.denied', limit: 200 })).items.length
    expect((await get('content.admin')).status).toBe(401)
    expect((await list({ event: 'permission.denied', limit: 200 })).items).toHaveLength(before)
  })

  it('lists newest first, filtered by event and user, one keyset page at a time', async () => {
    const u = await server.createUser()
    for (let i = 0; i < 3; i += 1) await post('auth.login', { username: u.username, password: `wrong-${i}` })
    await post('auth.login', { username: u.username, password: u.password })

    const first = await list({ event: 'login.failed', username: u.username, limit: 2 })
    expect(first.items).toHaveLength(2)
    expect(first.nextCursor).toBe(first.items[1]?.id)
    const second = await list({ event: 'login.failed', username: u.username, limit: 2, cursor: first.nextCursor })
    expect(second).toEqual({ items: [expect.objectContaining({ event: 'login.failed' })], nextCursor: null })
    const ids = [...first.items, ...second.items].map((e) => e.id as number)
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    expect((await list({ userId: u.id, event: 'login.succeeded' })).items).toHaveLength(1)
    // no input at all: the newest 50 of everyone
    const all = await query(server.url, 'admin.audit.list', { token: root })
    expect(all.body.result.data.items.length).toBeGreaterThan(4)
    expect(all.body.result.data.items.length).toBeLessThanOrEqual(50)
  })

  it('is for superusers and holders of view_auditevent; is_staff alone is not enough', async () => {
    const staff = await signedIn({ isStaff: true })
    const refused = await query(server.url, 'admin.audit.list', { token: staff.access })
    expect(refused).toMatchObject({
      status: 403,
      body: errorBody({
        message: 'You do not have permission to perform this action.',
        code: 'FORBIDDEN',
        httpStatus: 403,
        path: 'admin.audit.list',
        reason: 'NOT_PERMITTED',
      }),
    })
    expect((await query(server.url, 'admin.audit.list')).status).toBe(401)
    const granted = await mutation(
      server.url,
      'admin.permissions.grant',
      { username: staff.username, codename: 'view_auditevent' },
      root,
    )
    expect(granted.body).toEqual({ result: { data: { changed: true } } })
    // effective on the next request, same token; the refusal above is in the log
    const { items } = (
      await query(server.url, 'admin.audit.list', { input: { userId: staff.id }, token: staff.access })
    ).body.result.data
    expect(items[0]).toMatchObject({
      event: 'permission.denied',
      detail: { path: 'admin.audit.list', permission: 'ModelPermissions(auditevent)' },
    })
  })

  it('refuses bad input with per-field messages', async () => {
    const cases: [unknown, Record<string, string[]>][] = [
      [{ limit: 0 }, { limit: ['Ensure this value is greater than or equal to 1.'] }],
      [{ limit: 201 }, { limit: ['Ensure this value is less than or equal to 200.'] }],
      [{ cursor: -1 }, { cursor: ['A valid integer is required.'] }],
      [{ userId: 'me' }, { userId: ['A valid integer is required.'] }],
      [{ username: 'x'.repeat(151) }, { username: ['Ensure this field has no more than 150 characters.'] }],
      [{ since: '2026-01-01' }, { since: ['Unrecognized field.'] }],
    ]
    for (const [input, fieldErrors] of cases) {
      const res = await query(server.url, 'admin.audit.list', { input, token: root })
      expect(res.status, JSON.stringify(input)).toBe(400)
      expect(res.body.error.data.fieldErrors).toEqual(fieldErrors)
    }
    const unknown = await query(server.url, 'admin.audit.list', { input: { event: 'login.maybe' }, token: root })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.data.fieldErrors.event[0]).toMatch(/^Expected one of login\.succeeded, login\.failed, /)
  })
})

describe(`${TEST_BACKEND}: a lost audit write`, () => {
  it('does not fail the request that caused it', async () => {
    await using server = await startTestServer()
    const u = await server.createUser()
    await sql`alter table audit_events rename to audit_events_away`.execute(server.db)
    try {
      const res = await mutation(server.url, 'auth.login', { username: u.username, password: u.password })
      expect(res.status).toBe(200)
      expect(res.body.result.data.user.username).toBe(u.username)
    } finally {
      await sql`alter table audit_events_away rename to audit_events`.execute(server.db)
    }
    // the write really was lost
    const rows = await server.db.selectFrom('audit_events').select('id').where('user_id', '=', u.id).execute()
    expect(rows).toEqual([])
  })
})
