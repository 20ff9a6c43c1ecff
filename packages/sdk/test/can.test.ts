/**
 * `client.can()` against what the server actually does. For every caller and action, on an
 * unpublished and a published article, the answer `can()` computes in the client must be the
 * server's: view → articles.get (200 or 404) and whether articles.list shows it, change →
 * articles.update (200 or 401/403), delete → articles.delete (200 or 401/403, each on a fresh
 * article).
 */
import type { TestServer } from '@gatehouse/server/testing'
import { startTestServer } from '@gatehouse/server/testing'
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { GatehouseClient, GatehouseOutputs } from '../src/index.js'
import {
  ACTIONS,
  ANONYMOUS_SUBJECT,
  can,
  createGatehouseClient,
  isDenied,
  isGatehouseError,
  toSubject,
} from '../src/index.js'
import { rawMutation, recordingFetch } from './helpers/http.js'

type Article = GatehouseOutputs['articles']['create']['article']

const CALLERS = ['anonymous', 'plain user', 'author', 'editor', 'grantee', 'superuser'] as const
type CallerName = (typeof CALLERS)[number]
const STATES = ['unpublished', 'published'] as const
type State = (typeof STATES)[number]

let server: TestServer
let author: GatehouseClient
let grantee: { username: string }
const callers = {} as Record<CallerName, GatehouseClient>
const articles = {} as Record<State, Article>

async function loggedIn(opts: Parameters<TestServer['createUser']>[0] = {}) {
  const user = await server.createUser(opts)
  const client = createGatehouseClient({ url: server.url })
  await client.auth.login({ username: user.username, password: user.password })
  return { client, username: user.username }
}

/** A new article by the author, shared with the grantee. */
async function newArticle(state: State): Promise<Article> {
  const { article } = await author.articles.create({
    title: `${state} ${Date.now()}`,
    body: 'Body.',
    published: state === 'published',
  })
  await author.articles.share({ id: article.id, username: grantee.username })
  return article
}

/**
 * Whether the server let the call through. Only the refusals the procedure is meant to give count
 * as "no"; anything else (a 400, a 500, a network error) fails the test instead of reading as one.
 */
async function allowed(call: Promise<unknown>, refusals: readonly number[]): Promise<boolean> {
  try {
    await call
    return true
  } catch (error) {
    if (isGatehouseError(error) && refusals.includes(error.data.httpStatus)) return false
    throw error
  }
}

/** Whether `articles.list` shows the article to this caller, on any page. */
async function listed(client: GatehouseClient, id: number): Promise<boolean> {
  let cursor: number | undefined
  for (;;) {
    const page = await client.articles.list({ cursor, limit: 100 })
    if (page.items.some((item) => item.id === id)) return true
    if (page.nextCursor === null) return false
    cursor = page.nextCursor
  }
}

function verdict(answer: boolean) {
  return answer ? 'allowed' : 'refused'
}

beforeAll(async () => {
  server = await startTestServer()
  const owner = await loggedIn()
  author = owner.client
  const shared = await loggedIn()
  grantee = shared
  callers.anonymous = createGatehouseClient({ url: server.url })
  callers['plain user'] = (await loggedIn()).client
  callers.author = author
  callers.editor = (await loggedIn({ groups: ['Editors'] })).client
  callers.grantee = shared.client
  callers.superuser = (await loggedIn({ isSuperuser: true })).client
  for (const state of STATES) articles[state] = await newArticle(state)
  for (const name of CALLERS) await callers[name].loadPermissions()
})

afterAll(() => server?.close())

describe(`${TEST_BACKEND}: client.can() answers as the server decides`, () => {
  describe('on one article', () => {
    for (const state of STATES) {
      for (const name of CALLERS) {
        it(`view: ${name}, ${state} article`, async () => {
          const client = callers[name]
          const article = articles[state]
          const predicted = client.can('view', 'article', article)
          // A read the caller may not make is a 404: the server does not confirm the article exists.
          const actual = await allowed(client.articles.get({ id: article.id }), [404])
          expect(verdict(predicted), `can() said ${verdict(predicted)}; articles.get ${verdict(actual)}`).toBe(
            verdict(actual),
          )
        })

        // The list is the server's other answer to "which articles may I see?".
        it(`view: ${name}, ${state} article, as articles.list shows it`, async () => {
          const client = callers[name]
          const article = articles[state]
          const predicted = client.can('view', 'article', article)
          const actual = await listed(client, article.id)
          expect(
            verdict(predicted),
            `can() said ${verdict(predicted)}; articles.list ${actual ? 'shows' : 'hides'} it`,
          ).toBe(verdict(actual))
        })

        it(`change: ${name}, ${state} article`, async () => {
          const client = callers[name]
          const article = articles[state]
          const predicted = client.can('change', 'article', article)
          const actual = await allowed(client.articles.update({ id: article.id, title: article.title }), [401, 403])
          expect(verdict(predicted), `can() said ${verdict(predicted)}; articles.update ${verdict(actual)}`).toBe(
            verdict(actual),
          )
        })
      }
    }

    // Last, and each on an article of its own: a delete that goes through changes the world.
    for (const state of STATES) {
      for (const name of CALLERS) {
        it(`delete: ${name}, ${state} article`, async () => {
          const client = callers[name]
          const article = await newArticle(state)
          await client.loadPermissions() // the grantee's grant on this new article
          const predicted = client.can('delete', 'article', article)
          const actual = await allowed(client.articles.delete({ id: article.id }), [401, 403])
          expect(verdict(predicted), `can() said ${verdict(predicted)}; articles.delete ${verdict(actual)}`).toBe(
            verdict(actual),
          )
        })
      }
    }
  })

  describe('on articles as a whole', () => {
    for (const name of CALLERS) {
      it(`view: ${name} lists articles`, async () => {
        const client = callers[name]
        const actual = await allowed(client.articles.list(), [401, 403])
        expect(verdict(client.can('view', 'article'))).toBe(verdict(actual))
      })

      it(`add: ${name} creates an article`, async () => {
        const client = callers[name]
        const actual = await allowed(client.articles.create({ title: 'New', body: '' }), [401, 403])
        expect(verdict(client.can('add', 'article'))).toBe(verdict(actual))
      })
    }
  })
})

describe('client.can() follows the session', () => {
  async function session() {
    const user = await server.createUser()
    const client = createGatehouseClient({ url: server.url })
    return { client, user }
  }

  it('answers as anonymous until permissions are loaded, and for the new user after login', async () => {
    const { client, user } = await session()
    const { article } = await author.articles.create({ title: 'Mine', body: '', published: false })
    await author.articles.share({ id: article.id, username: user.username })
    expect(client.can('view', 'article', articles.published)).toBe(true)
    expect(client.can('add', 'article')).toBe(false)

    await client.auth.login({ username: user.username, password: user.password })
    expect(client.can('add', 'article')).toBe(false) // logged in, grants not loaded yet

    expect(await client.loadPermissions()).toEqual({
      userId: user.id,
      isSuperuser: false,
      permissions: [],
      objectPermissions: { [`article:${article.id}`]: ['change'] },
    })
    expect(client.can('add', 'article')).toBe(true)
    expect(client.can('change', 'article', article)).toBe(true)

    // Logging in as someone else must not keep the previous user's grants.
    const other = await server.createUser()
    await client.auth.login({ username: other.username, password: other.password })
    expect(client.can('change', 'article', article)).toBe(false)
  })

  it('is refreshed by auth.me()', async () => {
    const { client, user } = await session()
    await client.auth.login({ username: user.username, password: user.password })
    await client.auth.me()
    const { article } = await author.articles.create({ title: 'Later', body: '', published: false })
    expect(client.can('change', 'article', article)).toBe(false)

    await author.articles.share({ id: article.id, username: user.username })
    expect(client.can('change', 'article', article)).toBe(false) // not asked again yet
    const me = await client.auth.me()
    expect(me.objectPermissions).toEqual({ [`article:${article.id}`]: ['change'] })
    expect(client.can('change', 'article', article)).toBe(true)
    expect(can(toSubject(me), 'change', 'article', article)).toBe(true) // the pure function agrees
  })

  it('answers as anonymous after logout', async () => {
    const { client, user } = await session()
    await client.auth.login({ username: user.username, password: user.password })
    await client.loadPermissions()
    expect(client.can('add', 'article')).toBe(true)
    await client.auth.logout()
    expect(client.can('add', 'article')).toBe(false)
  })

  it('answers as anonymous once the server refuses the stored refresh token', async () => {
    const { client, user } = await session()
    const { refresh } = await client.auth.login({ username: user.username, password: user.password })
    await client.loadPermissions()
    await rawMutation(server.url, 'auth.logout', { refresh }) // logged out elsewhere
    await expect(client.auth.refresh()).rejects.toThrow()
    expect(client.can('add', 'article')).toBe(false)
  })

  it('drops an auth.me answer that arrives after logout', async () => {
    const user = await server.createUser()
    const http = recordingFetch({ delayResponse: (request) => (request.paths.includes('auth.me') ? 300 : 0) })
    const client = createGatehouseClient({ url: server.url, fetch: http.fetch, batch: false })
    await client.auth.login({ username: user.username, password: user.password })
    const late = client.auth.me()
    await client.auth.logout()
    expect((await late).user.id).toBe(user.id) // the server did answer, for the old session
    expect(client.can('add', 'article')).toBe(false)
  })

  it('loadPermissions() resolves with the anonymous subject when logged out', async () => {
    const client = createGatehouseClient({ url: server.url })
    expect(await client.loadPermissions()).toEqual(ANONYMOUS_SUBJECT)
    await expect(client.auth.me()).rejects.toSatisfy(isDenied) // the procedure itself still refuses
  })

  it('reports refusals as denials with a typed reason', async () => {
    const { client, user } = await session()
    await client.auth.login({ username: user.username, password: user.password })
    const error = await client.articles.delete({ id: articles.published.id }).catch((e: unknown) => e)
    expect(isDenied(error) && error.data.reason).toBe('NOT_PERMITTED')
    const anonymous = await callers.anonymous.articles.create({ title: 'x', body: '' }).catch((e: unknown) => e)
    expect(isDenied(anonymous) && anonymous.data.reason).toBe('NOT_AUTHENTICATED')
  })
})

it('covers every action the rules know', () => {
  // A new action in ACTIONS needs its row in the matrix above (and a procedure to check it by).
  expect([...ACTIONS].sort()).toEqual(['add', 'change', 'delete', 'view'])
})
