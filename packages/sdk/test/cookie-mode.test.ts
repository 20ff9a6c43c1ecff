/**
 * Cookie mode against a real server whose clock the test moves: JWT cookies (`auth.login` with
 * `cookies: true`) and sessions (`auth.session.login`), CSRF, refresh through the `refresh`
 * cookie, logout. Outside a browser the client keeps the cookies in a jar.
 */
import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

import type { CookieJar, GatehouseFetch, GatehouseHeaders } from '../src/index.js'
import { createGatehouseClient, isGatehouseError, memoryCookieJar, memoryStorage } from '../src/index.js'
import { rawMutation, rawPost, rawQuery, recordingFetch } from './helpers/http.js'

const START = new Date('2026-05-01T12:00:00Z')
let now = START
const clock = () => now
/** Past the access token's lifetime (ACCESS_TOKEN_LIFETIME, 5 minutes by default). */
const afterAccessExpiry = () => {
  now = new Date(now.getTime() + 301_000)
}

let server: TestServer

beforeAll(async () => {
  server = await startTestServer({}, { clock })
})

afterAll(async () => {
  await server?.close()
})

beforeEach(() => {
  now = START
})

interface ClientOptions {
  batch?: boolean
  /** The jar expires cookies by the server's clock (as a browser in step with it would), or by the real one. */
  jarClock?: 'server' | 'real'
  headers?: () => GatehouseHeaders
}

async function cookieClient(opts: ClientOptions = {}) {
  const user = await server.createUser()
  const http = recordingFetch()
  const cookies = memoryCookieJar(opts.jarClock === 'server' ? { clock } : {})
  const client = createGatehouseClient({
    url: server.url,
    mode: 'cookie',
    cookies,
    fetch: http.fetch,
    batch: opts.batch,
    headers: opts.headers,
  })
  return { client, cookies, http, ...user }
}

async function loggedIn(opts: ClientOptions = {}) {
  const made = await cookieClient(opts)
  const answer = await made.client.auth.login({ username: made.username, password: made.password })
  return { ...made, answer }
}

const at = (path: string) => `${server.url}/trpc/${path}`

/** The cookies a browser would send to `path`. */
function cookieHeader(cookies: CookieJar, path: string): string {
  return cookies.cookieHeader(at(path)) ?? ''
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}

function reasonOf(error: unknown): unknown {
  return isGatehouseError(error) ? error.data.reason : error
}

/** Holds each `auth.refresh` request until `tabs` of them are on their way (their cookies already read). */
function refreshBarrier(tabs: number) {
  let waiting: (() => void)[] = []
  return (next: GatehouseFetch): GatehouseFetch =>
    async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
      if (url.includes('/auth.refresh')) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve)
          if (waiting.length < tabs) return
          for (const release of waiting) release()
          waiting = []
        })
      }
      return next(input, init)
    }
}

describe('cookie mode: JWT cookies', () => {
  it('logs in with cookies: true, stores no token, and sends cookies, never an Authorization header', async () => {
    const { client, cookies, http, username, answer } = await loggedIn()
    expect(answer.user.username).toBe(username)
    expect(cookies.get('access', at('auth.me'))).toBe(answer.access)
    expect(cookies.get('refresh', at('auth.refresh'))).toBe(answer.refresh)
    expect(cookies.get('refresh', at('auth.logout'))).toBe(answer.refresh)
    expect(cookies.get('refresh', at('auth.me'))).toBeUndefined()
    const csrftoken = cookies.get('csrftoken', at('auth.me'))
    expect(csrftoken).toMatch(/^[0-9a-f]{64}$/)

    expect(await client.content.protected()).toEqual({ message: 'This is a protected view' })
    expect((await client.auth.me()).user.username).toBe(username)
    const { article } = await client.articles.create({ title: 'Cookies', body: 'Baked', published: false })
    expect(article.title).toBe('Cookies')

    expect(http.requests.map((r) => [r.method, r.paths.join(), r.authorization])).toEqual([
      ['POST', 'auth.login', null],
      ['GET', 'content.protected', null],
      ['GET', 'auth.me', null],
      ['POST', 'articles.create', null],
    ])
    const [login, read, , write] = http.requests
    expect(login?.headers.get('origin')).toBe(server.url)
    expect(read?.headers.get('cookie')).toBe(`access=${answer.access}; csrftoken=${csrftoken}`)
    expect(read?.headers.has('x-csrftoken')).toBe(false)
    expect(write?.headers.get('x-csrftoken')).toBe(csrftoken)
    expect(write?.headers.get('origin')).toBe(server.url)
    expect(write?.headers.get('content-type')).toBe('application/json')
  })

  it('is refused the same mutation over raw HTTP without the X-CSRFToken header or the Origin', async () => {
    const { cookies } = await loggedIn()
    const cookie = cookieHeader(cookies, 'articles.create')
    const csrf = cookies.get('csrftoken', at('articles.create')) ?? ''
    const input = { title: 'Forged', body: 'x' }
    const cases: [Record<string, string>, string][] = [
      [{ cookie, origin: server.url }, 'CSRF Failed: CSRF token missing.'],
      [{ cookie, origin: server.url, 'x-csrftoken': 'f'.repeat(64) }, 'CSRF Failed: CSRF token incorrect.'],
      [{ cookie, 'x-csrftoken': csrf }, 'CSRF Failed: Origin checking failed - no Origin.'],
      [
        { cookie, origin: 'https://evil.example', 'x-csrftoken': csrf },
        'CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins.',
      ],
    ]
    for (const [headers, message] of cases) {
      const res = await rawPost(server.url, 'articles.create', { input, headers })
      expect(res.status).toBe(403)
      expect(res.body.error?.message).toBe(message)
      expect(res.body.error?.data).toMatchObject({ code: 'FORBIDDEN', httpStatus: 403, reason: 'CSRF_FAILED' })
    }
    const sent = await rawPost(server.url, 'articles.create', {
      input,
      headers: { cookie, origin: server.url, 'x-csrftoken': csrf },
    })
    expect(sent.status).toBe(200)
  })

  for (const batch of [true, false]) {
    it(`refreshes once through the refresh cookie for 10 calls the server finds expired (batch: ${batch})`, async () => {
      const { client, cookies, http, username, answer } = await loggedIn({ batch })
      afterAccessExpiry()
      // The premise: the jar still sends the access cookie, and the server refuses it as expired.
      const direct = await rawQuery(server.url, 'auth.me', { cookie: cookieHeader(cookies, 'auth.me') })
      expect(direct.status).toBe(401)
      expect(direct.body.error?.data).toMatchObject({ code: 'UNAUTHORIZED', reason: 'TOKEN_EXPIRED' })
      http.requests.length = 0

      const results = await Promise.all(Array.from({ length: 10 }, () => client.auth.me()))

      expect(results.map((r) => r.user.username)).toEqual(Array(10).fill(username))
      const refreshes = http.calls('auth.refresh')
      expect(refreshes).toHaveLength(1)
      // Unbatched, so that the refresh cookie (Path=/trpc/auth.refresh) goes with it, with CSRF.
      expect(refreshes[0]?.paths).toEqual(['auth.refresh'])
      expect(refreshes[0]?.headers.get('cookie')).toContain(`refresh=${answer.refresh}`)
      expect(refreshes[0]?.headers.get('x-csrftoken')).toBe(cookies.get('csrftoken', at('auth.refresh')))
      expect(http.requests.flatMap((r) => r.paths).filter((p) => p === 'auth.me')).toHaveLength(20)
      expect(cookies.get('access', at('auth.me'))).not.toBe(answer.access)
      expect(cookies.get('refresh', at('auth.refresh'))).not.toBe(answer.refresh)
      expect(http.requests.at(-1)?.headers.get('cookie')).toContain(`access=${cookies.get('access', at('auth.me'))}`)
    })
  }

  it('refreshes when the access cookie expired with its token, so the call went out anonymous', async () => {
    const { client, cookies, http, answer } = await loggedIn({ jarClock: 'server' })
    afterAccessExpiry()
    expect(cookies.get('access', at('auth.me'))).toBeUndefined()
    http.requests.length = 0

    const [first, second] = await Promise.all([client.content.protected(), client.articles.list()])

    expect(first).toEqual({ message: 'This is a protected view' })
    expect(second.items).toEqual([])
    expect(http.calls('auth.refresh')).toHaveLength(1)
    expect(http.requests[0]?.headers.get('cookie')).not.toContain('access=')
    expect(cookies.get('access', at('auth.me'))).toMatch(/^ey/)
    expect(cookies.get('access', at('auth.me'))).not.toBe(answer.access)
  })

  it('surfaces the call’s own error when the refresh is refused, and stops refreshing: the cookies are gone', async () => {
    const { client, cookies, http, answer } = await loggedIn()
    await client.loadPermissions()
    expect(client.can('add', 'article')).toBe(true)
    // The refresh token is blacklisted behind the client's back.
    expect((await rawMutation(server.url, 'auth.logout', { refresh: answer.refresh })).status).toBe(200)
    afterAccessExpiry()

    expect(reasonOf(await caught(client.content.protected()))).toBe('TOKEN_EXPIRED')
    expect(http.calls('auth.refresh')).toHaveLength(1)
    expect(client.can('add', 'article')).toBe(false)
    // The refused refresh cleared the JWT cookies; the csrftoken stays, as in Django.
    expect(cookieHeader(cookies, 'auth.refresh')).toMatch(/^csrftoken=[0-9a-f]{64}$/)

    expect(reasonOf(await caught(client.content.protected()))).toBe('NOT_AUTHENTICATED')
    expect(http.calls('auth.refresh')).toHaveLength(1)
  })

  it('keeps two tabs sharing the cookies logged in when both refresh one refresh cookie at once', async () => {
    const { username, password } = await server.createUser()
    const cookies = memoryCookieJar()
    // Each tab's refresh waits for the other's: both go out with the same refresh cookie.
    const hold = refreshBarrier(2)
    const tabs = [recordingFetch(), recordingFetch()].map((http) => ({
      http,
      client: createGatehouseClient({ url: server.url, mode: 'cookie', cookies, fetch: hold(http.fetch) }),
    }))
    await tabs[0]!.client.auth.login({ username, password })
    const shared = cookies.get('refresh', at('auth.refresh'))
    afterAccessExpiry()

    const views = await Promise.all(tabs.map((tab) => tab.client.content.protected()))

    expect(views).toEqual([{ message: 'This is a protected view' }, { message: 'This is a protected view' }])
    for (const { http } of tabs) {
      expect(http.calls('auth.refresh').map((r) => r.headers.get('cookie'))).toEqual([
        expect.stringContaining(`refresh=${shared}`),
      ])
    }
    // The jar kept one tab's new cookies; both tabs carry on with them, through the next refresh too.
    expect(cookies.get('refresh', at('auth.refresh'))).not.toBe(shared)
    afterAccessExpiry()
    const again = await Promise.all(tabs.map((tab) => tab.client.auth.me()))
    expect(again.map((r) => r.user.username)).toEqual([username, username])
    for (const { http } of tabs) expect(http.calls('auth.refresh')).toHaveLength(2)
  })

  it('auth.refresh() refreshes through the cookie, sharing the request with calls that expire meanwhile', async () => {
    const { client, cookies, http } = await loggedIn({ batch: false })
    afterAccessExpiry()
    http.requests.length = 0
    const [explicit, protectedView] = await Promise.all([client.auth.refresh(), client.content.protected()])
    expect(protectedView).toEqual({ message: 'This is a protected view' })
    expect(http.calls('auth.refresh')).toHaveLength(1)
    expect(cookies.get('access', at('auth.me'))).toBe(explicit.access)
    expect(cookies.get('refresh', at('auth.logout'))).toBe(explicit.refresh)
  })

  it('logs out: the refresh token is blacklisted, the server clears the cookies, and so does the jar', async () => {
    const { client, cookies, http, answer } = await loggedIn()
    http.requests.length = 0

    expect(await client.auth.logout()).toEqual({ detail: 'Successfully logged out.' })

    expect(http.calls('auth.logout')[0]?.headers.get('cookie')).toContain(`refresh=${answer.refresh}`)
    expect(http.calls('auth.session.logout')).toHaveLength(1)
    expect(cookies.cookieHeader(at('auth.refresh'))).toBeUndefined()
    const reuse = await rawMutation(server.url, 'auth.refresh', { refresh: answer.refresh })
    expect(reuse.body.error?.data).toMatchObject({ reason: 'TOKEN_BLACKLISTED' })
    expect(reasonOf(await caught(client.auth.me()))).toBe('NOT_AUTHENTICATED')
    expect(http.calls('auth.refresh')).toEqual([])
    // Logged out already: still a success.
    expect(await client.auth.logout()).toEqual({ detail: 'Successfully logged out.' })
  })

  it('logs out everywhere: every login of the user ends, and the cookies are cleared', async () => {
    const { client, cookies, username, password } = await loggedIn()
    const elsewhere = createGatehouseClient({ url: server.url, storage: memoryStorage() })
    await elsewhere.auth.login({ username, password })

    expect(await client.auth.logoutAll()).toEqual({ detail: 'Logged out everywhere.' })

    expect(cookies.cookieHeader(at('auth.refresh'))).toBeUndefined()
    expect(reasonOf(await caught(elsewhere.auth.refresh()))).toBe('TOKEN_BLACKLISTED')
  })

  it('lets an Authorization header win over the cookies', async () => {
    let authorization: string | undefined
    const { client, username } = await loggedIn({ headers: () => ({ authorization }) })
    const bob = await server.createUser()
    const { access } = await createGatehouseClient({ url: server.url }).auth.login({
      username: bob.username,
      password: bob.password,
    })

    authorization = `Bearer ${access}`
    expect((await client.auth.me()).user.username).toBe(bob.username)
    // A bad header is refused as such: the server does not fall back to the cookie.
    authorization = 'Bearer not-a-jwt'
    expect(reasonOf(await caught(client.auth.me()))).toBe('TOKEN_INVALID')
    authorization = undefined
    expect((await client.auth.me()).user.username).toBe(username)
  })
})

describe('cookie mode: sessions', () => {
  it('logs in with a session, makes CSRF-checked calls, lists it as current, and logs out', async () => {
    const { client, cookies, http, username, password } = await cookieClient()
    const { user } = await client.auth.session.login({ username, password })
    expect(user.username).toBe(username)
    const sessionid = cookies.get('sessionid', at('auth.me'))
    expect(sessionid).toMatch(/^\w+\.\w+$/)

    expect((await client.auth.me()).user.username).toBe(username)
    await client.articles.create({ title: 'Session', body: 'Kept' })
    const { items } = await client.auth.session.list()
    expect(items.map((s) => s.current)).toEqual([true])
    await client.loadPermissions()
    expect(client.can('add', 'article')).toBe(true)

    expect(await client.auth.logout()).toEqual({ detail: 'Successfully logged out.' })
    expect(client.can('add', 'article')).toBe(false)
    expect(cookies.cookieHeader(at('auth.me'))).toBeUndefined()
    // Without a refresh cookie the JWT logout had nothing to end: that counts as logged out.
    expect(http.calls('auth.logout')).toHaveLength(1)
    const replay = await rawQuery(server.url, 'auth.me', { cookie: `sessionid=${sessionid}` })
    expect(replay.status).toBe(401)
    expect(replay.body.error?.data).toMatchObject({ reason: 'SESSION_INVALID' })
  })

  it('retries a mutation once when the csrftoken cookie was missing, with the one the refusal set', async () => {
    const { client, cookies, http, username, password } = await cookieClient()
    await client.auth.session.login({ username, password })
    const before = cookies.get('csrftoken', at('auth.me'))
    cookies.store(at('auth.me'), ['csrftoken=; Max-Age=0; Path=/'])
    http.requests.length = 0

    const { article } = await client.articles.create({ title: 'Again', body: 'Once more' })

    expect(article.title).toBe('Again')
    const sent = http.calls('articles.create')
    expect(sent).toHaveLength(2)
    expect(sent[0]?.headers.has('x-csrftoken')).toBe(false)
    const after = cookies.get('csrftoken', at('auth.me'))
    expect(after).toMatch(/^[0-9a-f]{64}$/)
    expect(after).not.toBe(before)
    expect(sent[1]?.headers.get('x-csrftoken')).toBe(after)
  })

  it('does not retry other CSRF refusals', async () => {
    const { client, http, username, password } = await cookieClient({
      headers: () => ({ origin: 'https://evil.example' }),
    })
    await client.auth.session.login({ username, password }).then(
      () => {
        throw new Error('expected the login to be refused')
      },
      (error: unknown) => expect(reasonOf(error)).toBe('CSRF_FAILED'),
    )
    expect(http.calls('auth.session.login')).toHaveLength(1)
  })
})

describe('cookie mode: options', () => {
  it('refuses combinations that cannot work, with a TypeError that says why', () => {
    const url = server.url
    const attempts: [() => unknown, RegExp][] = [
      [() => createGatehouseClient({ url, mode: 'cookie', storage: memoryStorage() }), /stores no token/],
      [() => createGatehouseClient({ url, cookies: memoryCookieJar() }), /for mode 'cookie' only/],
      [() => createGatehouseClient({ url, mode: 'sliding', cookies: memoryCookieJar() }), /for mode 'cookie' only/],
      [() => createGatehouseClient({ url, mode: 'cookie', apiToken: 'k.s' }), /either `apiToken` or `mode`/],
      [() => createGatehouseClient({ url, mode: 'jwt', apiToken: 'k.s' }), /either `apiToken` or `mode`/],
      [
        () => createGatehouseClient({ url, mode: 'session' as 'cookie' }),
        /'jwt', 'cookie' or 'sliding', not "session"/,
      ],
    ]
    for (const [attempt, message] of attempts) expect(attempt).toThrow(message)
    for (const [attempt] of attempts) expect(attempt).toThrow(TypeError)
  })
})
