import type { ListenClient } from '@gatehouse/db'
import { createListenClient } from '@gatehouse/db'
import type { TestDatabase } from '@gatehouse/db/testing'
import { createTestDb, TEST_BACKEND } from '@gatehouse/db/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { VerifiedToken } from '../jwt/claims.js'
import type { AuthService } from '../service.js'
import { createAuthService } from '../service.js'
import { TEST_SECRET_KEY } from '../testing.js'
import { AuthCache } from './auth-cache.js'
import type { BusTimers } from './bus.js'
import { InvalidationBus } from './bus.js'

const PASSWORD = 'Tr1cky-passphrase'
let now = new Date('2026-01-01T00:00:00Z')
const clock = () => now

function verified(expiresAt: number): VerifiedToken {
  return { userId: 1, jti: 'j', tokenType: 'access', issuedAt: new Date(0), expiresAt: new Date(expiresAt) }
}

describe('AuthCache', () => {
  let ms = 1000
  const cache = () => {
    const c = new AuthCache({ now: () => ms, maxEntries: 2 })
    c.setLive(true)
    return c
  }

  it('never serves a token at or past its exp', () => {
    const c = cache()
    c.putToken('t', verified(2000), c.ticket())
    ms = 1999
    expect(c.token('t')).toBeDefined()
    ms = 2000
    expect(c.token('t')).toBeUndefined()
    ms = 1000
    expect(c.token('t')).toBeUndefined() // dropped, not just hidden
  })

  it('does not store a read that started before a change', () => {
    const c = cache()
    const ticket = c.ticket()
    c.change('u:1') // arrives while the read is in flight
    c.putUser({ user: { id: 1 } as never, epoch: 0 }, ticket)
    expect(c.user(1)).toBeUndefined()
    c.putUser({ user: { id: 1, groups: [] } as never, epoch: 0 }, c.ticket())
    expect(c.user(1)).toBeDefined()
  })

  it('a key change drops every verified token, refuses a verification in flight, and tells the key ring', () => {
    const c = cache()
    let told = 0
    c.onKeysChanged = () => told++
    c.putToken('t', verified(2000), c.ticket())
    const inFlight = c.ticket()
    c.keysChanged()
    c.putToken('u', verified(2000), inFlight)
    expect([c.token('t'), c.token('u'), told]).toEqual([undefined, undefined, 1])
  })

  it('serves and stores nothing while not live, and a reset forgets everything', () => {
    const c = cache()
    c.putUser({ user: { id: 1, groups: [] } as never, epoch: 0 }, c.ticket())
    c.setLive(false)
    expect(c.user(1)).toBeUndefined()
    c.putUser({ user: { id: 2, groups: [] } as never, epoch: 0 }, c.ticket())
    c.setLive(true)
    expect(c.sizes()).toEqual({ tokens: 0, users: 0, sessions: 0, apiTokens: 0 })
  })

  it('is bounded: the oldest entry goes first', () => {
    const c = cache()
    for (const id of [1, 2, 3]) c.putUser({ user: { id, groups: [] } as never, epoch: 0 }, c.ticket())
    expect(c.user(1)).toBeUndefined()
    expect(c.user(3)).toBeDefined()
    expect(c.sizes().users).toBe(2)
  })

  it('an unknown payload forgets everything (a newer writer must not be ignored)', () => {
    const c = cache()
    c.putUser({ user: { id: 1, groups: [] } as never, epoch: 0 }, c.ticket())
    c.change('something-new:1')
    expect(c.user(1)).toBeUndefined()
  })
})

describe(`${TEST_BACKEND}: auth cache over LISTEN/NOTIFY`, () => {
  let t: TestDatabase
  let auth: AuthService
  // Another process (the CLI, another server): same database, no cache of its own.
  let elsewhere: AuthService

  beforeAll(async () => {
    t = await createTestDb()
    const options = {
      secretKey: TEST_SECRET_KEY,
      db: t.db,
      clock,
      passwordHashCost: 4,
      jwt: { algorithm: 'EdDSA' as const },
    }
    // Heartbeats run while these tests do; each must come back within a second, or the bus drops.
    auth = await createAuthService({ ...options, cache: { heartbeatMs: 1000 } })
    elsewhere = await createAuthService(options)
  })
  afterAll(async () => {
    await auth.close()
    await t[Symbol.asyncDispose]()
  })

  async function user(username: string) {
    await auth.register({ username, password: PASSWORD })
    const pair = await auth.login({ username, password: PASSWORD })
    return { ...pair, id: pair.user.id }
  }

  /** A write the triggers do not see (replica mode): whatever answers after it came from memory. */
  async function silently(statement: ReturnType<typeof sql>) {
    await t.db.transaction().execute(async (trx) => {
      await sql`set local session_replication_role = replica`.execute(trx)
      await statement.execute(trx)
    })
  }

  it('is live once started', () => {
    expect(auth.core.bus?.live).toBe(true)
  })

  it('serves a warm access token from memory, and drops the user when their row changes', async () => {
    const { access, id } = await user('warm')
    await expect(auth.authenticateAccessToken(access)).resolves.toMatchObject({ id })
    await silently(sql`update users set is_active = false where id = ${id}`)
    await expect(auth.authenticateAccessToken(access)).resolves.toMatchObject({ id, isActive: true })
    await sql`select gatehouse_notify_auth(${`u:${id}`})`.execute(t.db)
    await auth.settle()
    await expect(auth.authenticateAccessToken(access)).rejects.toMatchObject({ code: 'USER_INACTIVE' })
  })

  it('a revocation made elsewhere is in force here once settled: logout everywhere, deactivation, groups', async () => {
    const a = await user('revoked-elsewhere')
    await auth.authenticateAccessToken(a.access)
    await elsewhere.logoutAll({ id: a.id, username: 'revoked-elsewhere' })
    await auth.settle()
    await expect(auth.authenticateAccessToken(a.access)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })

    const b = await user('grouped-elsewhere')
    await auth.authenticateAccessToken(b.access)
    await elsewhere.createGroup('cache-test-group')
    await elsewhere.addToGroup('grouped-elsewhere', 'cache-test-group')
    await auth.settle()
    await expect(auth.authenticateAccessToken(b.access)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' })
  })

  it('never serves a cached token past its exp', async () => {
    const { access } = await user('expiring')
    await auth.authenticateAccessToken(access)
    const saved = now
    now = new Date(saved.getTime() + 300_000) // ACCESS_TOKEN_LIFETIME's default, to the second
    try {
      await expect(auth.authenticateAccessToken(access)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' })
    } finally {
      now = saved
    }
  })

  it('a signing key retired elsewhere stops verifying here at once', async () => {
    const { access } = await user('old-key')
    await auth.authenticateAccessToken(access)
    const oldKid = (await auth.keys.currentSigningKey()).kid
    await elsewhere.rotateKeys()
    await elsewhere.retireKey(oldKid)
    await auth.settle()
    await expect(auth.authenticateAccessToken(access)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
  })

  it('a signing key retired in this process stops verifying here when retireKey resolves, however late the bus is', async () => {
    // CI caught a retired key's token served from this cache: the retire's NOTIFY had not come
    // back yet. Holding the bus's changes back makes that ordering certain here.
    const cache = auth.core.cache
    if (!cache) throw new Error('no cache')
    const held: string[] = []
    const deliver = cache.change.bind(cache)
    cache.change = (what: string) => void held.push(what)
    try {
      const { access } = await user('retired-here')
      await auth.authenticateAccessToken(access)
      const oldKid = (await auth.keys.currentSigningKey()).kid
      await auth.rotateKeys()
      await auth.retireKey(oldKid)
      await expect(auth.authenticateAccessToken(access)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    } finally {
      cache.change = deliver
      for (const what of held) deliver(what)
    }
  })

  it('sessions and API keys deleted elsewhere are refused once settled', async () => {
    await auth.register({ username: 'keyed', password: PASSWORD })
    const session = await auth.createSession({ username: 'keyed', password: PASSWORD })
    const token = await auth.obtainApiToken({ username: 'keyed', password: PASSWORD })
    await auth.authenticateSession(session.key)
    await auth.authenticateApiToken(token.token)
    await sql`delete from sessions`.execute(t.db)
    await sql`delete from api_tokens`.execute(t.db)
    await auth.settle()
    await expect(auth.authenticateSession(session.key)).rejects.toMatchObject({ code: 'SESSION_INVALID' })
    await expect(auth.authenticateApiToken(token.token)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' })
  })

  it('stops serving the moment a heartbeat round is overdue (a half-open LISTEN connection), then comes back', async () => {
    // The LISTEN connection still looks open but nothing comes back over it any more (a dead peer
    // behind a NAT or a failed-over address: no FIN, no RST). The bus used to notice only after two
    // silent heartbeats, up to three rounds (15 s) in which the cache went on serving what it held.
    const timers = new ManualTimers()
    let holding = false
    const held: unknown[][] = []
    const cache = new AuthCache({ now: () => now.getTime() })
    const bus = new InvalidationBus({
      db: t.db,
      onChange: (what) => cache.change(what),
      onLive: (live) => cache.setLive(live),
      heartbeatMs: 5000,
      timers,
      listenClient: () => {
        const client = createListenClient(t.db)
        if (client) holdBack(client, { holding: () => holding, held })
        return client
      },
    })
    try {
      await bus.start()
      expect(bus.live).toBe(true)
      cache.putUser({ user: { id: 1, groups: [] } as never, epoch: 0 }, cache.ticket())
      holding = true
      timers.advance(5000) // a heartbeat goes out and does not come back
      timers.advance(4999) // still within its round
      expect([bus.live, cache.user(1) !== undefined]).toEqual([true, true])
      timers.advance(1) // overdue: not one moment more of serving from memory
      expect([bus.live, cache.user(1)]).toEqual([false, undefined])
      cache.putUser({ user: { id: 1, groups: [] } as never, epoch: 0 }, cache.ticket())
      expect(cache.user(1)).toBeUndefined()

      // It reconnects by itself, on a connection that answers, and serves again.
      holding = false
      timers.advance(100) // the first reconnect's backoff
      await waitFor(() => bus.live)
      cache.putUser({ user: { id: 1, groups: [] } as never, epoch: 0 }, cache.ticket())
      expect(cache.user(1)).toBeDefined()
      timers.advance(5000)
      await bus.sync()
      timers.advance(5000)
      expect(bus.live).toBe(true)
    } finally {
      await bus.close()
    }
  })

  it.skipIf(TEST_BACKEND === 'pglite')(
    'with its connection lost it serves nothing from memory, then comes back',
    async () => {
      const { access, id } = await user('bus-down')
      await auth.authenticateAccessToken(access)
      const bus = auth.core.bus
      if (!bus?.backendPid) throw new Error('bus not live')
      await sql`select pg_terminate_backend(${bus.backendPid})`.execute(t.db)
      await waitFor(() => !bus.live)
      await silently(sql`update users set is_active = false where id = ${id}`)
      await expect(auth.authenticateAccessToken(access)).rejects.toMatchObject({ code: 'USER_INACTIVE' })
      await waitFor(() => bus.live)
      await silently(sql`update users set is_active = true where id = ${id}`)
      await expect(auth.authenticateAccessToken(access)).resolves.toMatchObject({ id })
    },
  )
})

async function waitFor(condition: () => boolean) {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25))
  expect(condition()).toBe(true)
}

/**
 * Timers that fire only when the test moves time on (the bus's heartbeat, round deadline and
 * reconnect), so the test says exactly when a round is overdue instead of sleeping.
 */
class ManualTimers implements BusTimers {
  #now = 0
  #next = 1
  readonly #pending = new Map<number, { at: number; run: () => void }>()

  setTimeout(run: () => void, ms: number): number {
    const id = this.#next++
    this.#pending.set(id, { at: this.#now + ms, run })
    return id
  }

  clearTimeout(id: unknown): void {
    this.#pending.delete(id as number)
  }

  /** Moves time on by `ms`, firing what falls due in order (including timers those set). */
  advance(ms: number): void {
    const until = this.#now + ms
    for (;;) {
      const due = [...this.#pending].filter(([, t]) => t.at <= until).sort(([, a], [, b]) => a.at - b.at)[0]
      if (!due) break
      this.#pending.delete(due[0])
      this.#now = due[1].at
      due[1].run()
    }
    this.#now = until
  }
}

/** What reaches the bus over this connection waits while `holding()`: a network that went quiet. */
function holdBack(client: ListenClient, o: { holding: () => boolean; held: unknown[][] }) {
  const emit = client.emit.bind(client)
  client.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event !== 'notification' || !o.holding()) return emit(event, ...args)
    o.held.push(args)
    return true
  }) as typeof client.emit
}
