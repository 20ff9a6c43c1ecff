/**
 * The REST facade's resource routes beyond the seed: articles and the admin (users, groups,
 * permissions, the audit log) in DRF's style: snake_case fields, 201/204, cursor pages, and
 * form bodies read as DRF reads them.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { bearer, BEARER, restClient } from './helpers/rest.js'
import { sharedServer } from './helpers/server.js'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe(`${TEST_BACKEND}: REST facade, Gatehouse's resource routes`, () => {
  const server = sharedServer()
  const { api, accessOf } = restClient(() => server.url)
  let alice: { id: number; username: string; password: string }
  let root: { id: number; username: string; password: string }

  beforeAll(async () => {
    alice = await server.createUser()
    root = await server.createUser({ isSuperuser: true })
  })

  describe('articles', () => {
    it('creates from a form (booleans as DRF reads them), pages, reads, edits and deletes', async () => {
      const author = await server.createUser()
      const auth = bearer(await accessOf(author))
      const created = await api('POST', '/api/articles/', {
        body: new URLSearchParams({ title: 'One', body: 'text', published: 'on' }).toString(),
        headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      })
      expect(created.status).toBe(201)
      expect(created.json).toEqual({
        id: expect.any(Number),
        title: 'One',
        body: 'text',
        published: true,
        author_id: author.id,
        created_at: expect.stringMatching(ISO),
      })
      const second = await api('POST', '/api/articles/', {
        json: { title: 'Two', body: '', published: 'false' },
        headers: auth,
      })
      expect(second.json.published).toBe(false)
      const page = await api('GET', '/api/articles/?limit=1', { headers: auth })
      expect(page.json.results.map((a: { id: number }) => a.id)).toEqual([second.json.id])
      expect(page.json.previous).toBeNull()
      expect(page.json.next).toBe(`${server.url}/api/articles/?limit=1&cursor=${second.json.id}`)
      const next = await api(
        'GET',
        new URL(page.json.next as string).pathname + new URL(page.json.next as string).search,
        {
          headers: auth,
        },
      )
      expect(next.json.results[0].id).toBe(created.json.id)
      const anonymous = await api('GET', `/api/articles/${created.json.id}/`)
      expect(anonymous.json.title).toBe('One')
      const draft = await api('GET', `/api/articles/${second.json.id}/`)
      expect([draft.status, draft.text]).toEqual([404, '{"detail":"Not found."}'])
      const edited = await api('PATCH', `/api/articles/${created.json.id}/`, { json: { title: 'Uno' }, headers: auth })
      expect(edited.json.title).toBe('Uno')
      const bad = await api('PATCH', `/api/articles/${created.json.id}/`, {
        json: { published: 'maybe' },
        headers: auth,
      })
      expect([bad.status, bad.text]).toEqual([400, '{"published":["Must be a valid boolean."]}'])
      expect((await api('DELETE', `/api/articles/${created.json.id}/`, { headers: auth })).status).toBe(204)
      const post = await api('POST', `/api/articles/${second.json.id}/`, { headers: auth })
      expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, PATCH, DELETE, HEAD, OPTIONS'])
      expect((await api('GET', '/api/articles/abc/')).status).toBe(404)
    })

    it('shares an article; anonymous writes are 401', async () => {
      const author = await server.createUser()
      const friend = await server.createUser()
      const auth = bearer(await accessOf(author))
      const article = (await api('POST', '/api/articles/', { json: { title: 't', body: 'b' }, headers: auth })).json
      const shared = await api('POST', `/api/articles/${article.id}/share/`, {
        json: { username: friend.username },
        headers: auth,
      })
      expect([shared.status, shared.json.id]).toEqual([200, article.id])
      const edit = await api('PATCH', `/api/articles/${article.id}/`, {
        json: { body: 'mine' },
        headers: bearer(await accessOf(friend)),
      })
      expect(edit.json.body).toBe('mine')
      const anonymous = await api('POST', '/api/articles/', { json: { title: 't', body: 'b' } })
      expect([anonymous.status, anonymous.headers.get('www-authenticate')]).toEqual([401, BEARER])
    })
  })

  describe('admin', () => {
    it('users: pages, reads and changes with snake_case fields; a plain user is forbidden', async () => {
      const auth = bearer(await accessOf(root))
      const target = await server.createUser()
      const page = await api('GET', `/api/admin/users/?search=${target.username}`, { headers: auth })
      expect(page.json).toEqual({
        next: null,
        previous: null,
        results: [expect.objectContaining({ id: target.id, is_active: true, last_login: null })],
      })
      const one = await api('GET', `/api/admin/users/${target.id}/`, { headers: auth })
      expect(one.json.username).toBe(target.username)
      const staff = await api('PATCH', `/api/admin/users/${target.id}/`, { json: { is_staff: 'yes' }, headers: auth })
      expect(staff.json.is_staff).toBe(true)
      const typo = await api('PATCH', `/api/admin/users/${target.id}/`, { json: { is_staff: 'maybe' }, headers: auth })
      expect([typo.status, Object.keys(typo.json)]).toEqual([400, ['is_staff']])
      const off = await api('POST', `/api/admin/users/${target.id}/deactivate/`, { headers: auth })
      expect(off.json.is_active).toBe(false)
      expect((await api('POST', `/api/admin/users/${target.id}/activate/`, { headers: auth })).json.is_active).toBe(
        true,
      )
      const groups = await api('PUT', `/api/admin/users/${target.id}/groups/`, {
        json: { groups: ['Editors'] },
        headers: auth,
      })
      expect([groups.status, groups.json.groups]).toEqual([200, ['Editors']])
      const plain = await api('GET', '/api/admin/users/', { headers: bearer(await accessOf(alice)) })
      expect([plain.status, plain.text]).toEqual([
        403,
        '{"detail":"You do not have permission to perform this action."}',
      ])
      expect((await api('GET', '/api/admin/users/999999/', { headers: auth })).status).toBe(404)
    })

    it('groups and permissions: create (201), grant, list, delete (204); a target of both kinds is non_field_errors', async () => {
      const auth = bearer(await accessOf(root))
      const created = await api('POST', '/api/admin/groups/', { json: { name: 'Writers' }, headers: auth })
      expect([created.status, created.json.group.name, created.json.created]).toEqual([201, 'Writers', true])
      const grant = await api('POST', '/api/admin/permissions/grant/', {
        json: { group: 'Writers', codename: 'add_article' },
        headers: auth,
      })
      expect([grant.status, grant.text]).toEqual([200, '{"changed":true}'])
      const both = await api('POST', '/api/admin/permissions/grant/', {
        json: { group: 'Writers', username: alice.username, codename: 'add_article' },
        headers: auth,
      })
      expect([both.status, both.text]).toEqual([
        400,
        '{"non_field_errors":["Give either {username, codename} or {group, codename}."]}',
      ])
      const groups = await api('GET', '/api/admin/groups/', { headers: auth })
      expect(groups.json.find((g: { name: string }) => g.name === 'Writers')).toMatchObject({
        permissions: ['add_article'],
      })
      const permissions = await api('GET', '/api/admin/permissions/', { headers: auth })
      expect(permissions.json.length).toBeGreaterThan(0)
      expect(
        (
          await api('POST', '/api/admin/permissions/revoke/', {
            json: { group: 'Writers', codename: 'add_article' },
            headers: auth,
          })
        ).text,
      ).toBe('{"changed":true}')
      expect((await api('DELETE', '/api/admin/groups/Writers/', { headers: auth })).status).toBe(204)
    })

    it('audit/: the log in pages, filtered by query parameters', async () => {
      const auth = bearer(await accessOf(root))
      await api('POST', '/api/token/', { json: { username: alice.username, password: 'wrong' } })
      const res = await api('GET', `/api/admin/audit/?event=login.failed&username=${alice.username}&limit=1`, {
        headers: auth,
      })
      expect(res.status).toBe(200)
      expect(res.json.results).toEqual([
        expect.objectContaining({
          event: 'login.failed',
          username: alice.username,
          user_id: alice.id,
          user_agent: expect.any(String),
        }),
      ])
      const bad = await api('GET', '/api/admin/audit/?limit=0', { headers: auth })
      expect([bad.status, bad.text]).toEqual([400, '{"limit":["Ensure this value is greater than or equal to 1."]}'])
    })
  })
})
