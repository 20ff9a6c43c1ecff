/**
 * The access matrix: every procedure × every kind of caller → the exact HTTP status. The same
 * table generates docs/access-matrix.md; this test fails when the document is stale
 * (`UPDATE_ACCESS_MATRIX=1 pnpm test` rewrites it).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { appRouter } from '../src/routers/_app.js'
import type { TestServer } from '../src/testing.js'
import { login, mutation, obtainSliding, query } from './helpers/http.js'
import { sharedServer } from './helpers/server.js'

const KINDS = ['anonymous', 'user', 'staff', 'superuser', 'Admin', 'Manager', 'HR', 'Editors', 'owner', 'granted'] as const
type Kind = (typeof KINDS)[number]

interface Caller {
  kind: Kind
  token?: string
  username: string
  password: string
  id: number
}

interface World {
  server: TestServer
  callers: Record<Kind, Caller>
  owner: Caller
  /** A fresh unpublished article of the owner's, shared with the 'granted' caller. */
  article(): Promise<number>
  unique(): string
}

type Row = {
  path: string
  call(w: World, c: Caller): Promise<{ status: number }>
  expected: Partial<Record<Kind, number>> & { default: number }
  note?: string
}

let counter = 0
const q = (path: string, input?: (w: World, c: Caller) => unknown) =>
  async (w: World, c: Caller) => query(w.server.url, path, { input: input ? await input(w, c) : undefined, token: c.token })
const m = (path: string, input: (w: World, c: Caller) => unknown) =>
  async (w: World, c: Caller) => mutation(w.server.url, path, await input(w, c), c.token)

function freshLogin(w: World, c: Caller) {
  const who = c.kind === 'anonymous' ? w.owner : c
  return login(w.server.url, who)
}

function slidingToken(w: World, c: Caller): Promise<string> {
  const who = c.kind === 'anonymous' ? w.owner : c
  return obtainSliding(w.server.url, who)
}

const ALL_OK = { default: 200 }
const AUTHENTICATED = { default: 200, anonymous: 401 }
const SUPERUSER_ONLY = { default: 403, anonymous: 401, superuser: 200 }

const ROWS: Row[] = [
  { path: 'auth.register', call: m('auth.register', (w) => ({ username: w.unique(), password: 'Tr1cky-passphrase' })), expected: ALL_OK },
  { path: 'auth.login', call: async (w, c) => ({ status: (await freshLogin(w, c)) ? 200 : 401 }), expected: ALL_OK, note: 'with valid credentials' },
  { path: 'auth.refresh', call: m('auth.refresh', async (w, c) => ({ refresh: (await freshLogin(w, c)).refresh })), expected: ALL_OK },
  { path: 'auth.logout', call: m('auth.logout', async (w, c) => ({ refresh: (await freshLogin(w, c)).refresh })), expected: ALL_OK },
  {
    path: 'auth.logoutAll',
    // A throwaway user: logging the caller out everywhere would revoke the token later rows use.
    call: async (w, c) => {
      const token = c.token ? (await freshLogin(w, { ...(await w.server.createUser()), kind: c.kind })).access : undefined
      return mutation(w.server.url, 'auth.logoutAll', undefined, token)
    },
    expected: AUTHENTICATED,
    note: "a fresh user's own token",
  },
  { path: 'auth.verify', call: m('auth.verify', async (w, c) => ({ token: (await freshLogin(w, c)).access })), expected: ALL_OK },
  { path: 'auth.me', call: q('auth.me'), expected: AUTHENTICATED },
  { path: 'auth.catalogue', call: q('auth.catalogue'), expected: ALL_OK },
  {
    path: 'auth.tokens.obtain',
    call: m('auth.tokens.obtain', (w, c) => {
      const who = c.kind === 'anonymous' ? w.owner : c
      return { username: who.username, password: who.password }
    }),
    expected: ALL_OK,
    note: 'with valid credentials',
  },
  { path: 'auth.tokens.create', call: m('auth.tokens.create', () => ({ name: 'matrix' })), expected: AUTHENTICATED },
  { path: 'auth.tokens.list', call: q('auth.tokens.list'), expected: AUTHENTICATED },
  {
    path: 'auth.tokens.revoke',
    call: async (w, c) => {
      const made = c.token ? await mutation(w.server.url, 'auth.tokens.create', { name: 'matrix' }, c.token) : undefined
      const id = made ? (made.body.result.data.token.id as string) : 'none'
      return mutation(w.server.url, 'auth.tokens.revoke', { id }, c.token)
    },
    expected: AUTHENTICATED,
    note: "the caller's own key",
  },
  { path: 'auth.tokens.revokeAll', call: m('auth.tokens.revokeAll', () => undefined), expected: AUTHENTICATED },
  {
    path: 'auth.tokens.register',
    call: m('auth.tokens.register', (w) => ({ username: w.unique(), password: 'Tr1cky-passphrase' })),
    expected: ALL_OK,
  },
  {
    path: 'auth.sliding.obtain',
    call: m('auth.sliding.obtain', (w, c) => {
      const who = c.kind === 'anonymous' ? w.owner : c
      return { username: who.username, password: who.password }
    }),
    expected: ALL_OK,
    note: 'with valid credentials',
  },
  { path: 'auth.sliding.refresh', call: m('auth.sliding.refresh', async (w, c) => ({ token: await slidingToken(w, c) })), expected: ALL_OK },
  { path: 'auth.sliding.logout', call: m('auth.sliding.logout', async (w, c) => ({ token: await slidingToken(w, c) })), expected: ALL_OK },
  {
    path: 'auth.session.login',
    call: m('auth.session.login', (w, c) => {
      const who = c.kind === 'anonymous' ? w.owner : c
      return { username: who.username, password: who.password }
    }),
    expected: ALL_OK,
    note: 'with valid credentials',
  },
  { path: 'auth.session.logout', call: m('auth.session.logout', () => undefined), expected: ALL_OK, note: 'clears the cookie, with or without a session' },
  { path: 'auth.session.list', call: q('auth.session.list'), expected: AUTHENTICATED },
  {
    path: 'auth.session.revoke',
    call: async (w, c) => {
      const opened = c.kind === 'anonymous' ? undefined : await mutation(w.server.url, 'auth.session.login', { username: c.username, password: c.password })
      const id = opened ? String(opened.headers.getSetCookie()[0]?.split(/[=.]/)[1]) : 'none'
      return mutation(w.server.url, 'auth.session.revoke', { id }, c.token)
    },
    expected: AUTHENTICATED,
    note: "the caller's own session",
  },
  { path: 'auth.session.revokeOthers', call: m('auth.session.revokeOthers', () => undefined), expected: AUTHENTICATED },
  { path: 'auth.apps.list', call: q('auth.apps.list'), expected: AUTHENTICATED },
  {
    path: 'auth.apps.revoke',
    call: m('auth.apps.revoke', () => ({ clientId: 'never-authorised' })),
    expected: { default: 404, anonymous: 401 },
    note: 'an app the caller never authorised',
  },
  { path: 'content.protected', call: q('content.protected'), expected: AUTHENTICATED },
  { path: 'content.admin', call: q('content.admin'), expected: { default: 403, anonymous: 401, superuser: 200, Admin: 200 } },
  { path: 'content.manager', call: q('content.manager'), expected: { default: 403, anonymous: 401, Manager: 200 } },
  { path: 'content.hr', call: q('content.hr'), expected: { default: 403, anonymous: 401, HR: 200 } },
  { path: 'content.scoped', call: q('content.scoped'), expected: AUTHENTICATED, note: 'OAuth tokens need `read` (oauth-resource.test.ts)' },
  { path: 'articles.create', call: m('articles.create', () => ({ title: 't', body: 'b' })), expected: AUTHENTICATED },
  { path: 'articles.list', call: q('articles.list'), expected: ALL_OK },
  {
    path: 'articles.get',
    call: q('articles.get', async (w) => ({ id: await w.article() })),
    expected: { default: 404, superuser: 200, Editors: 200, owner: 200, granted: 200 },
    note: 'an unpublished article; published ones are 200 for everyone',
  },
  {
    path: 'articles.update',
    call: m('articles.update', async (w) => ({ id: await w.article(), title: 'changed' })),
    expected: { default: 403, anonymous: 401, superuser: 200, Editors: 200, owner: 200, granted: 200 },
  },
  {
    path: 'articles.delete',
    call: m('articles.delete', async (w) => ({ id: await w.article() })),
    expected: { default: 403, anonymous: 401, superuser: 200, Editors: 200, owner: 200 },
  },
  {
    path: 'articles.share',
    call: m('articles.share', async (w) => ({ id: await w.article(), username: w.callers.user.username })),
    expected: { default: 403, anonymous: 401, superuser: 200, Editors: 200, owner: 200 },
  },
  { path: 'admin.users.list', call: q('admin.users.list'), expected: SUPERUSER_ONLY },
  { path: 'admin.users.get', call: q('admin.users.get', (w) => ({ id: w.owner.id })), expected: SUPERUSER_ONLY },
  { path: 'admin.users.update', call: m('admin.users.update', (w) => ({ id: w.callers.user.id, email: 'u@example.com' })), expected: SUPERUSER_ONLY },
  { path: 'admin.users.activate', call: m('admin.users.activate', (w) => ({ id: w.callers.user.id })), expected: SUPERUSER_ONLY },
  {
    path: 'admin.users.deactivate',
    call: async (w, c) => {
      const victim = await w.server.createUser()
      return mutation(w.server.url, 'admin.users.deactivate', { id: victim.id }, c.token)
    },
    expected: SUPERUSER_ONLY,
  },
  { path: 'admin.users.setGroups', call: m('admin.users.setGroups', (w) => ({ id: w.callers.user.id, groups: [] })), expected: SUPERUSER_ONLY },
  { path: 'admin.groups.list', call: q('admin.groups.list'), expected: SUPERUSER_ONLY },
  { path: 'admin.groups.create', call: m('admin.groups.create', (w) => ({ name: w.unique() })), expected: SUPERUSER_ONLY },
  {
    path: 'admin.groups.delete',
    call: async (w, c) => {
      const name = w.unique()
      await w.server.auth.createGroup(name)
      return mutation(w.server.url, 'admin.groups.delete', { name }, c.token)
    },
    expected: SUPERUSER_ONLY,
  },
  { path: 'admin.permissions.list', call: q('admin.permissions.list'), expected: SUPERUSER_ONLY },
  { path: 'admin.permissions.grant', call: m('admin.permissions.grant', (w) => ({ username: w.callers.user.username, codename: 'view_group' })), expected: SUPERUSER_ONLY },
  { path: 'admin.permissions.revoke', call: m('admin.permissions.revoke', (w) => ({ username: w.callers.user.username, codename: 'view_group' })), expected: SUPERUSER_ONLY },
  { path: 'admin.audit.list', call: q('admin.audit.list'), expected: SUPERUSER_ONLY },
  { path: 'admin.oauthClients.list', call: q('admin.oauthClients.list'), expected: SUPERUSER_ONLY },
  {
    path: 'admin.oauthClients.create',
    call: m('admin.oauthClients.create', () => ({ name: 'Matrix', grants: ['client_credentials'], scopes: 'read' })),
    expected: SUPERUSER_ONLY,
  },
  {
    path: 'admin.oauthClients.delete',
    call: async (w, c) => {
      const { createOAuthClient } = await import('../src/oauth-core/clients.js')
      const { client } = await createOAuthClient(w.server.db, { name: 'Matrix', grants: ['client_credentials'], scopes: 'read' }, ['client_credentials'])
      return mutation(w.server.url, 'admin.oauthClients.delete', { clientId: client.clientId }, c.token)
    },
    expected: SUPERUSER_ONLY,
  },
]

function expectedStatus(row: Row, kind: Kind): number {
  return row.expected[kind] ?? row.expected.default
}

function renderMatrix(): string {
  const header = `| procedure | ${KINDS.join(' | ')} |`
  const rule = `| --- | ${KINDS.map(() => '---').join(' | ')} |`
  const rows = ROWS.map((r) => `| \`${r.path}\`${r.note ? ` (${r.note})` : ''} | ${KINDS.map((k) => expectedStatus(r, k)).join(' | ')} |`)
  return [
    '# Access matrix',
    '',
    '<!-- Generated by apps/server/test/matrix.test.ts; `UPDATE_ACCESS_MATRIX=1 pnpm test` rewrites it. -->',
    '',
    'The HTTP status each kind of caller gets from each procedure, as the test suite checks it on',
    'every run against both databases. Kinds: `anonymous` (no credential), `user` (no groups, no',
    'permissions), `staff` (`is_staff`), `superuser`, a member of each seeded group (`Admin`,',
    '`Manager`, `HR`, `Editors` — Editors hold `view_`, `change_` and `delete_article`), `owner`',
    "(the article's author) and `granted` (a user the article was shared with through `articles.share`).",
    'Article rows act on an unpublished article of `owner`\'s.',
    '',
    'OAuth access tokens act as their user (or their client\'s service user) and reach only the',
    'procedures that declare scopes: `content.scoped` (`read`) and `articles.*` (`read` for queries,',
    '`write` for mutations); every other procedure answers them 403 (apps/server/test/oauth-resource.test.ts).',
    '',
    'Admin rows act on the `user` caller (an ordinary user) and on a fresh group without members. Past the model',
    'permission, every admin write obeys the delegation rule (docs/permissions.md, tested in',
    'apps/server/test/admin-escalation.test.ts), each refusal a 403 `NOT_PERMITTED` naming the rule:',
    'nobody changes themselves or a group they belong to; only a superuser changes a superuser, a group',
    'a superuser belongs to, or `isSuperuser`; a group, a permission or staff status is given only by',
    'someone who holds it (a group by being in it).',
    '',
    header,
    rule,
    ...rows,
    '',
  ].join('\n')
}

const DOC = fileURLToPath(new URL('../../../docs/access-matrix.md', import.meta.url))

describe(`${TEST_BACKEND}: the access matrix`, () => {
  const server = sharedServer()
  let world: World
  beforeAll(async () => {
    const callers = {} as Record<Kind, Caller>
    const groupKinds: Kind[] = ['Admin', 'Manager', 'HR', 'Editors']
    for (const kind of KINDS) {
      const u = await server.createUser({
        groups: groupKinds.includes(kind) ? [kind] : [],
        isStaff: kind === 'staff' || kind === 'superuser',
        isSuperuser: kind === 'superuser',
      })
      const token =
        kind === 'anonymous'
          ? undefined
          : (await login(server.url, u)).access
      callers[kind] = { kind, token, ...u }
    }
    const owner = callers.owner
    world = {
      server,
      callers,
      owner,
      unique: () => `m${process.pid}x${++counter}`,
      async article() {
        const created = await mutation(server.url, 'articles.create', { title: 't', body: 'b' }, owner.token)
        const id = created.body.result.data.article.id as number
        await mutation(server.url, 'articles.share', { id, username: callers.granted.username }, owner.token)
        return id
      },
    }
  })

  it('covers every procedure of the router', () => {
    const procedures = Object.keys(appRouter._def.procedures).sort()
    expect(ROWS.map((r) => r.path).sort()).toEqual(procedures)
  })

  for (const row of ROWS) {
    it(`${row.path}`, async () => {
      const actual: Record<string, number> = {}
      const expected: Record<string, number> = {}
      for (const kind of KINDS) {
        actual[kind] = (await row.call(world, world.callers[kind])).status
        expected[kind] = expectedStatus(row, kind)
      }
      expect(actual).toEqual(expected)
    })
  }

  it('docs/access-matrix.md is generated from this table', async () => {
    const rendered = renderMatrix()
    if (process.env['UPDATE_ACCESS_MATRIX']) await writeFile(DOC, rendered)
    expect(await readFile(DOC, 'utf8').catch(() => '')).toBe(rendered)
  })
})
