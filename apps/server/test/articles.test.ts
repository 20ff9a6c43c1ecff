import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { login, mutation, query } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

describe(`${TEST_BACKEND}: articles, the sample resource`, () => {
  const server = sharedServer()
  const tokens: Record<string, string> = {}
  const users: Record<string, { id: number; username: string }> = {}

  beforeAll(async () => {
    for (const [kind, opts] of Object.entries({
      author: {},
      other: {},
      editor: { groups: ['Editors'] },
      friend: {},
      root: { isSuperuser: true, isStaff: true },
    })) {
      const u = await server.createUser(opts)
      users[kind] = u
      tokens[kind] = (await login(server.url, u)).access
    }
  })

  async function create(as: string, input: Record<string, unknown> = {}) {
    const res = await mutation(server.url, 'articles.create', { title: 'T', body: 'B', ...input }, tokens[as])
    expect(res.status).toBe(200)
    return res.body.result.data.article as { id: number; authorId: number; published: boolean }
  }

  it('any authenticated user creates; the article is theirs and unpublished by default', async () => {
    const res = await mutation(server.url, 'articles.create', { title: 'Hello', body: 'World' }, tokens['author'])
    expect(res.body).toEqual({
      result: {
        data: {
          article: {
            id: expect.any(Number),
            title: 'Hello',
            body: 'World',
            published: false,
            authorId: users['author']!.id,
            createdAt: expect.stringMatching(/^\d{4}-/),
          },
        },
      },
    })
    expect((await mutation(server.url, 'articles.create', { title: 'x', body: 'y' })).status).toBe(401)
    const bad = await mutation(server.url, 'articles.create', { title: '', body: 'y', extra: 1 }, tokens['author'])
    expect(bad.status).toBe(400)
    expect(Object.keys(bad.body.error.data.fieldErrors).sort()).toEqual(['extra', 'title'])
  })

  it('anyone reads published articles; unpublished ones exist only for those who may read them', async () => {
    const pub = await create('author', { published: true })
    const draft = await create('author')
    expect((await query(server.url, 'articles.get', { input: { id: pub.id } })).status).toBe(200)
    expect((await query(server.url, 'articles.get', { input: { id: draft.id } })).status).toBe(404)
    expect((await query(server.url, 'articles.get', { input: { id: draft.id }, token: tokens['other'] })).status).toBe(
      404,
    )
    for (const who of ['author', 'editor', 'root']) {
      expect(
        (await query(server.url, 'articles.get', { input: { id: draft.id }, token: tokens[who] })).status,
        who,
      ).toBe(200)
    }
    const anonList = (await query(server.url, 'articles.list', { input: { limit: 100 } })).body.result.data
    expect(anonList.items.some((a: { id: number }) => a.id === draft.id)).toBe(false)
    expect(anonList.items.some((a: { id: number }) => a.id === pub.id)).toBe(true)
    const own = (await query(server.url, 'articles.list', { input: { limit: 100 }, token: tokens['author'] })).body
      .result.data
    expect(own.items.some((a: { id: number }) => a.id === draft.id)).toBe(true)
  })

  it('paginates with a cursor', async () => {
    for (let i = 0; i < 5; i++) await create('other', { published: true, title: `page ${i}` })
    const first = (await query(server.url, 'articles.list', { input: { limit: 2 } })).body.result.data
    expect(first.items).toHaveLength(2)
    expect(first.nextCursor).toBe(first.items[1].id)
    const second = (await query(server.url, 'articles.list', { input: { limit: 2, cursor: first.nextCursor } })).body
      .result.data
    expect(second.items[0].id).toBeLessThan(first.items[1].id)
  })

  it('authors edit and delete their own; others are refused with 403, anonymous with 401', async () => {
    const a = await create('author')
    expect((await mutation(server.url, 'articles.update', { id: a.id, title: 'New' }, tokens['other'])).status).toBe(
      403,
    )
    expect((await mutation(server.url, 'articles.update', { id: a.id, title: 'New' })).status).toBe(401)
    const ok = await mutation(
      server.url,
      'articles.update',
      { id: a.id, title: 'New', published: true },
      tokens['author'],
    )
    expect(ok.body.result.data.article).toMatchObject({ title: 'New', published: true })
    expect((await mutation(server.url, 'articles.delete', { id: a.id }, tokens['other'])).status).toBe(403)
    expect((await mutation(server.url, 'articles.delete', { id: a.id }, tokens['author'])).body).toEqual({
      result: { data: { detail: 'Deleted.' } },
    })
    expect((await mutation(server.url, 'articles.delete', { id: a.id }, tokens['author'])).status).toBe(404)
  })

  it('Editors (change_article, delete_article) edit and delete any article', async () => {
    const a = await create('author')
    expect((await mutation(server.url, 'articles.update', { id: a.id, body: 'edited' }, tokens['editor'])).status).toBe(
      200,
    )
    expect((await mutation(server.url, 'articles.delete', { id: a.id }, tokens['editor'])).status).toBe(200)
  })

  it('share gives one user the right to edit one article, and nothing more', async () => {
    const a = await create('author')
    const b = await create('author')
    expect((await mutation(server.url, 'articles.update', { id: a.id, body: 'x' }, tokens['friend'])).status).toBe(403)
    expect(
      (await mutation(server.url, 'articles.share', { id: a.id, username: users['friend']!.username }, tokens['other']))
        .status,
    ).toBe(403)
    const shared = await mutation(
      server.url,
      'articles.share',
      { id: a.id, username: users['friend']!.username },
      tokens['author'],
    )
    expect(shared.status).toBe(200)
    // effective on the friend's next request, with the same access token
    expect((await mutation(server.url, 'articles.update', { id: a.id, body: 'x' }, tokens['friend'])).status).toBe(200)
    expect((await query(server.url, 'articles.get', { input: { id: a.id }, token: tokens['friend'] })).status).toBe(200)
    expect((await mutation(server.url, 'articles.update', { id: b.id, body: 'x' }, tokens['friend'])).status).toBe(403)
    expect((await mutation(server.url, 'articles.delete', { id: a.id }, tokens['friend'])).status).toBe(403)
    const unknown = await mutation(
      server.url,
      'articles.share',
      { id: a.id, username: 'no-such-user' },
      tokens['author'],
    )
    expect(unknown.status).toBe(404)
  })

  it('a missing article is 404 and a bad id is 400 naming the field', async () => {
    expect((await mutation(server.url, 'articles.update', { id: 999_999, title: 'x' }, tokens['root'])).status).toBe(
      404,
    )
    const bad = await query(server.url, 'articles.get', { input: { id: 'abc' } })
    expect(bad.status).toBe(400)
    expect(Object.keys(bad.body.error.data.fieldErrors)).toEqual(['id'])
  })
})
