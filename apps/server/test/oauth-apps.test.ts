/**
 * auth.apps.*: a user lists the applications they authorised through the OAuth server and
 * revokes one; the grant and every token issued under it stop at once, and the app's next
 * authorisation asks for consent again.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { errorBody, login, mutation, query } from './helpers/http.js'
import { authorize, basic, Browser, pkce, REDIRECT, registerClient, tokenRequest } from './helpers/oauth.js'
import { sharedServer } from './helpers/server.js'

interface User {
  id: number
  username: string
  password: string
}

describe(`${TEST_BACKEND}: the apps a user authorised`, () => {
  const server = sharedServer()
  let alice: User
  let bob: User
  let aliceAccess: string
  let bobAccess: string
  const clients: Record<'notes' | 'calendar', { clientId: string; secret: string }> = {} as never

  beforeAll(async () => {
    alice = await server.createUser({ username: 'alice' })
    bob = await server.createUser({ username: 'bob' })
    aliceAccess = (await login(server.url, alice)).access
    bobAccess = (await login(server.url, bob)).access
    for (const [key, name] of [
      ['notes', 'Notes'],
      ['calendar', 'Calendar'],
    ] as const) {
      clients[key] = await registerClient(
        server.db,
        {
          name,
          grants: ['authorization_code', 'refresh_token'],
          redirectUris: [REDIRECT],
          scopes: 'openid profile read write',
        },
        server.config.oauthGrants,
      )
    }
  })

  /** Signs `user` in and consents (when asked) in `browser`; the tokens the code is exchanged for. */
  async function connect(o: { client: 'notes' | 'calendar'; user: User; scope: string; browser?: Browser }) {
    const { verifier, challenge } = pkce()
    const client = clients[o.client]
    const result = await authorize(o.browser ?? new Browser(), {
      base: server.url,
      clientId: client.clientId,
      redirectUri: REDIRECT,
      scope: o.scope,
      challenge,
      user: o.user,
    })
    const code = result.params.get('code')
    if (!code) throw new Error(`no code: ${result.location.href}`)
    const tokens = await tokenRequest(server.url, {
      form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
      authorization: basic(client.clientId, client.secret),
    })
    expect(tokens.status).toBe(200)
    const consented = result.pages.some((html) => html.includes('id="allow"'))
    return { ...(tokens.body as { access_token: string; refresh_token: string }), consented }
  }

  const list = (token: string) => query(server.url, 'auth.apps.list', { token })

  it('starts empty, and lists each authorised app once with every scope it holds', async () => {
    expect((await list(aliceAccess)).body).toEqual({ result: { data: { items: [] } } })
    await connect({ client: 'notes', user: alice, scope: 'openid read' })
    await connect({ client: 'notes', user: alice, scope: 'openid write' }) // a second grant to the same app
    await connect({ client: 'calendar', user: alice, scope: 'read' })
    const res = await list(aliceAccess)
    expect(res.status).toBe(200)
    expect(res.body.result.data.items).toEqual([
      {
        clientId: clients.calendar.clientId,
        name: 'Calendar',
        scopes: ['read'],
        grantedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
      {
        clientId: clients.notes.clientId,
        name: 'Notes',
        scopes: ['openid', 'read', 'write'],
        grantedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ])
    // bob authorised nothing: alice's apps are hers alone
    expect((await list(bobAccess)).body.result.data.items).toEqual([])
  })

  it('revoking an app ends its grants and tokens at once; its next authorisation asks again', async () => {
    const browser = new Browser()
    const first = await connect({ client: 'calendar', user: bob, scope: 'read', browser })
    expect(first.consented).toBe(true)
    // remembered: the same browser is not asked twice
    const again = await connect({ client: 'calendar', user: bob, scope: 'read', browser })
    expect(again.consented).toBe(false)
    expect((await query(server.url, 'content.scoped', { token: first.access_token })).status).toBe(200)

    const revoked = await mutation(server.url, 'auth.apps.revoke', { clientId: clients.calendar.clientId }, bobAccess)
    expect(revoked.status).toBe(200)
    expect(revoked.body).toEqual({ result: { data: { detail: 'Application access revoked.' } } })
    expect((await list(bobAccess)).body.result.data.items).toEqual([])

    for (const token of [first.access_token, again.access_token]) {
      const res = await query(server.url, 'content.scoped', { token })
      expect([res.status, res.body.error.data.reason]).toEqual([401, 'TOKEN_REVOKED'])
    }
    const refresh = await tokenRequest(server.url, {
      form: { grant_type: 'refresh_token', refresh_token: again.refresh_token },
      authorization: basic(clients.calendar.clientId, clients.calendar.secret),
    })
    expect([refresh.status, refresh.body.error]).toEqual([400, 'invalid_grant'])

    // audited like an API key's revocation: who, which app, how many grants, from where
    const audited = await server.db
      .selectFrom('audit_events')
      .select(['user_id', 'username', 'address', 'detail'])
      .where('event', '=', 'oauth_app.revoked')
      .execute()
    expect(audited).toEqual([
      {
        user_id: bob.id,
        username: 'bob',
        address: '127.0.0.1',
        detail: { clientId: clients.calendar.clientId, grants: 1 },
      },
    ])

    const asked = await connect({ client: 'calendar', user: bob, scope: 'read', browser })
    expect(asked.consented).toBe(true)
    // alice's grant to the same app was not touched
    const alices = (await list(aliceAccess)).body.result.data.items as { clientId: string }[]
    expect(alices.map((a) => a.clientId)).toContain(clients.calendar.clientId)
  })

  it("revoking an app one never authorised, or someone else's, is 404 and changes nothing", async () => {
    const carol = await server.createUser({ username: 'carol' })
    const carolAccess = (await login(server.url, carol)).access
    const res = await mutation(server.url, 'auth.apps.revoke', { clientId: clients.notes.clientId }, carolAccess)
    expect(res.status).toBe(404)
    expect(res.body).toEqual(
      errorBody({
        message: 'You have not authorised this application.',
        code: 'NOT_FOUND',
        httpStatus: 404,
        path: 'auth.apps.revoke',
        reason: 'NOT_FOUND',
      }),
    )
    const notes = (await list(aliceAccess)).body.result.data.items as { clientId: string }[]
    expect(notes.map((a) => a.clientId)).toContain(clients.notes.clientId)
    const audited = await server.db
      .selectFrom('audit_events')
      .select('id')
      .where('event', '=', 'oauth_app.revoked')
      .where('user_id', '=', carol.id)
      .execute()
    expect(audited).toEqual([])
  })

  it('checks its input and its caller', async () => {
    const missing = await mutation(server.url, 'auth.apps.revoke', {}, aliceAccess)
    expect(missing.status).toBe(400)
    expect(missing.body.error.data.fieldErrors).toEqual({ clientId: ['This field is required.'] })
    const long = await mutation(server.url, 'auth.apps.revoke', { clientId: 'x'.repeat(65) }, aliceAccess)
    expect(long.body.error.data.fieldErrors).toEqual({
      clientId: ['Ensure this field has no more than 64 characters.'],
    })
    expect((await query(server.url, 'auth.apps.list')).status).toBe(401)
    expect((await mutation(server.url, 'auth.apps.revoke', { clientId: 'x' })).status).toBe(401)
    // an app's own token cannot list or revoke apps
    const { access_token: token } = await connect({ client: 'notes', user: alice, scope: 'read write' })
    expect((await query(server.url, 'auth.apps.list', { token })).status).toBe(403)
    expect((await mutation(server.url, 'auth.apps.revoke', { clientId: clients.notes.clientId }, token)).status).toBe(
      403,
    )
  })
})
