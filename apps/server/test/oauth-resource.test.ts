/**
 * The resource side of issue 7: OAuth access tokens (RFC 9068 `at+jwt`) as the `oauth`
 * authenticator, scopes as permissions, and where OAuth tokens may not go. The first part signs
 * tokens with the server's own keys and writes the record the authorization server keeps, so every
 * attack can be shaped exactly; the last part gets real tokens from /oauth/token.
 */
import { oauthPayloadId } from '@gatehouse/auth'
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { SignJWT } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'

import type { TestServer } from '../src/testing.js'
import { OAUTH_NOT_ALLOWED } from '../src/middleware/oauth.js'
import { startTestServer } from '../src/testing.js'
import { errorBody, login, mutation, query, wire } from './helpers/http.js'
import { basic, registerClient, tokenRequest } from './helpers/oauth.js'
import { createProcessStore, runCli, startServerProcess } from './helpers/process.js'
import { sharedServer } from './helpers/server.js'

const SCOPE_READ = 'This action needs an OAuth access token with the scope "read".'
const READ_OR_WRITE = 'This action needs an OAuth access token with the scope "read" (queries) or "write" (mutations).'

interface Principal {
  id: number
  username: string
  password?: string
}

/** Signs an at+jwt as the authorization server would, and stores its record (model, jti). */
async function issue(
  server: TestServer,
  opts: {
    user?: Principal
    clientId: string
    scope: string
    claims?: Record<string, unknown>
    lifetimeSeconds?: number
    store?: boolean
  },
): Promise<string> {
  const settings = server.oauth.get()
  const key = await server.oauth.keys.currentSigningKey()
  const now = Math.floor(Date.now() / 1000)
  const jti = crypto.randomUUID()
  const exp = now + (opts.lifetimeSeconds ?? 600)
  const payload = {
    iss: settings.issuer,
    aud: settings.resource,
    sub: opts.user ? String(opts.user.id) : opts.clientId,
    client_id: opts.clientId,
    scope: opts.scope,
    jti,
    iat: now,
    exp,
    ...opts.claims,
  }
  if (opts.store !== false) {
    const model = opts.user ? 'AccessToken' : 'ClientCredentials'
    const record = opts.user
      ? { accountId: String(opts.user.id), clientId: opts.clientId, grantId: 'g', scope: opts.scope }
      : { clientId: opts.clientId, scope: opts.scope }
    await server.db
      .insertInto('oauth_payloads')
      .values({
        model,
        id: oauthPayloadId(model, jti), // as the server stores it: a digest, never the id itself
        payload: JSON.stringify({ ...record, iat: now, exp }),
        grant_id: opts.user ? 'g' : null,
        expires_at: new Date(Math.max(exp, now + 1) * 1000),
      })
      .execute()
  }
  return new SignJWT(payload).setProtectedHeader({ alg: settings.algorithm, kid: key.kid, typ: 'at+jwt' }).sign(key.key)
}

describe(`${TEST_BACKEND}: OAuth access tokens on our API`, () => {
  const server = sharedServer()
  let alice: Principal
  let bob: Principal
  let app: { clientId: string }
  let service: { clientId: string; clientSecret: string; user: Principal }

  beforeAll(async () => {
    alice = await server.createUser({ username: 'alice' })
    bob = await server.createUser({ username: 'bob' })
    const offered = server.config.oauthGrants
    const created = await registerClient(
      server.db,
      {
        name: 'Web app',
        grants: ['authorization_code'],
        redirectUris: ['http://127.0.0.1:9/cb'],
        scopes: 'read write',
      },
      offered,
    )
    app = { clientId: created.clientId }
    const svc = await registerClient(
      server.db,
      { name: 'Billing', grants: ['client_credentials'], scopes: 'read write' },
      offered,
    )
    service = {
      clientId: svc.clientId,
      clientSecret: svc.secret,
      user: svc.serviceUser as Principal,
    }
  })

  const userToken = (scope: string, user: Principal = alice, extra: Partial<Parameters<typeof issue>[1]> = {}) =>
    issue(server, { user, clientId: app.clientId, scope, ...extra })

  it('a user token with the scope reads a scoped procedure as its user, with its client and scopes', async () => {
    const res = await query(server.url, 'content.scoped', { token: await userToken('read openid') })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      result: {
        data: {
          message: 'This is a scoped view',
          username: 'alice',
          oauth: { clientId: app.clientId, scopes: ['read', 'openid'] },
        },
      },
    })
  })

  it('a token without the scope is refused with 403 naming the scope; anonymous with 401', async () => {
    const res = await query(server.url, 'content.scoped', { token: await userToken('write') })
    expect(res.status).toBe(403)
    expect(res.body).toEqual(
      errorBody({
        message: SCOPE_READ,
        code: 'FORBIDDEN',
        httpStatus: 403,
        path: 'content.scoped',
        reason: 'NOT_PERMITTED',
      }),
    )
    const anonymous = await query(server.url, 'content.scoped')
    expect(anonymous.status).toBe(401)
    expect(anonymous.body.error.data.reason).toBe('NOT_AUTHENTICATED')
  })

  it('other credentials pass scoped procedures unchanged (the token part is null)', async () => {
    const { access } = await login(server.url, alice as { username: string; password: string })
    const res = await query(server.url, 'content.scoped', { token: access })
    expect(res.status).toBe(200)
    expect(res.body.result.data).toEqual({ message: 'This is a scoped view', username: 'alice', oauth: null })
  })

  it('procedures that declare no scope refuse every OAuth token with 403, whatever its scopes', async () => {
    const token = await userToken('read write openid profile email')
    for (const [path, res] of [
      ['auth.me', await query(server.url, 'auth.me', { token })],
      ['content.protected', await query(server.url, 'content.protected', { token })],
      ['auth.apps.list', await query(server.url, 'auth.apps.list', { token })],
      ['auth.session.list', await query(server.url, 'auth.session.list', { token })],
      ['auth.tokens.create', await mutation(server.url, 'auth.tokens.create', { name: 'k' }, token)],
      ['auth.logoutAll', await mutation(server.url, 'auth.logoutAll', undefined, token)],
    ] as const) {
      expect({ path, status: res.status, body: res.body }).toEqual({
        path,
        status: 403,
        body: errorBody({
          message: OAUTH_NOT_ALLOWED,
          code: 'FORBIDDEN',
          httpStatus: 403,
          path,
          reason: 'NOT_PERMITTED',
        }),
      })
    }
    // nothing was minted on the way
    const keys = await server.db.selectFrom('api_tokens').select('id').where('user_id', '=', alice.id).execute()
    expect(keys).toEqual([])
  })

  it('articles: read lists, write creates, and scopes never reach past what the user may do', async () => {
    const read = await userToken('read')
    const write = await userToken('write')
    const readWrite = await userToken('read write')
    const created = await mutation(server.url, 'articles.create', { title: 'By app', body: 'x' }, write)
    expect(created.status).toBe(200)
    const article = created.body.result.data.article as { id: number; authorId: number; published: boolean }
    expect(article).toMatchObject({ authorId: alice.id, published: false })

    const denied = await mutation(server.url, 'articles.create', { title: 'No', body: 'x' }, read)
    expect(denied.status).toBe(403)
    expect(denied.body).toEqual(
      errorBody({
        message: READ_OR_WRITE,
        code: 'FORBIDDEN',
        httpStatus: 403,
        path: 'articles.create',
        reason: 'NOT_PERMITTED',
      }),
    )
    // read sees alice's own draft; write alone cannot read
    const listed = await query(server.url, 'articles.get', { token: read, input: { id: article.id } })
    expect(listed.status).toBe(200)
    expect((await query(server.url, 'articles.list', { token: write })).status).toBe(403)
    // bob's token with every scope is still bob: alice's draft does not exist for him, her article is not his to edit
    const bobs = await userToken('read write', bob)
    expect((await query(server.url, 'articles.get', { token: bobs, input: { id: article.id } })).status).toBe(404)
    const edit = await mutation(server.url, 'articles.update', { id: article.id, title: 'Mine now' }, bobs)
    expect(edit.status).toBe(403)
    expect(edit.body.error.data.reason).toBe('NOT_PERMITTED')
    // alice's own token edits it
    const own = await mutation(server.url, 'articles.update', { id: article.id, published: true }, readWrite)
    expect(own.status).toBe(200)
    expect(own.body.result.data.article.published).toBe(true)
  })

  it('a client-credentials token acts as the client service user, with that user permissions only', async () => {
    const token = await issue(server, { clientId: service.clientId, scope: 'read write' })
    const who = await query(server.url, 'content.scoped', { token })
    expect(who.body.result.data).toEqual({
      message: 'This is a scoped view',
      username: `client:${service.clientId}`,
      oauth: { clientId: service.clientId, scopes: ['read', 'write'] },
    })
    const created = await mutation(server.url, 'articles.create', { title: 'From billing', body: 'x' }, token)
    expect(created.body.result.data.article.authorId).toBe(service.user.id)
    // not staff: the admin is out of reach, as for any plain user (and no scope opens it anyway)
    expect((await query(server.url, 'admin.users.list', { token })).status).toBe(403)
    // it edits other people's articles only once its service user is granted change_article
    const { access } = await login(server.url, alice as { username: string; password: string })
    const alices = (await mutation(server.url, 'articles.create', { title: 'A', body: 'b', published: true }, access))
      .body.result.data.article as { id: number }
    const before = await mutation(server.url, 'articles.update', { id: alices.id, title: 'Billing was here' }, token)
    expect(before.status).toBe(403)
    const root = await server.createUser({ isStaff: true, isSuperuser: true })
    const rootAccess = (await login(server.url, root)).access
    const granted = await mutation(
      server.url,
      'admin.permissions.grant',
      { username: `client:${service.clientId}`, codename: 'change_article' },
      rootAccess,
    )
    expect(granted.status).toBe(200)
    const after = await mutation(server.url, 'articles.update', { id: alices.id, title: 'Billing was here' }, token)
    expect(after.status).toBe(200)
  })

  it('expired, revoked, foreign and malformed tokens are 401s that name the Bearer challenge', async () => {
    const cases: [string, string, string][] = [
      ['expired', await userToken('read', alice, { lifetimeSeconds: -5 }), 'TOKEN_EXPIRED'],
      ['not on record (revoked)', await userToken('read', alice, { store: false }), 'TOKEN_REVOKED'],
      ['another audience', await userToken('read', alice, { claims: { aud: 'urn:other:api' } }), 'TOKEN_INVALID'],
      [
        'another issuer',
        await userToken('read', alice, { claims: { iss: 'https://evil.example/oauth' } }),
        'TOKEN_INVALID',
      ],
      [
        'subject differs from the record',
        await userToken('read', alice, { claims: { sub: String(bob.id) } }),
        'TOKEN_INVALID',
      ],
      [
        'garbage with at+jwt header',
        `${Buffer.from('{"alg":"EdDSA","typ":"at+jwt"}').toString('base64url')}.e30.AAAA`,
        'TOKEN_INVALID',
      ],
    ]
    for (const [name, token, reason] of cases) {
      const res = await query(server.url, 'content.scoped', { token })
      expect({ name, status: res.status, reason: res.body.error?.data.reason }).toEqual({ name, status: 401, reason })
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    }
  })

  it('a deactivated user or a deleted client stops their tokens at once', async () => {
    const carol = await server.createUser({ username: 'carol' })
    const token = await userToken('read', carol)
    expect((await query(server.url, 'content.scoped', { token })).status).toBe(200)
    await server.db.updateTable('users').set({ is_active: false }).where('id', '=', carol.id).execute()
    await server.auth.settle() // an out-of-band write reaches the auth cache by NOTIFY
    const res = await query(server.url, 'content.scoped', { token })
    expect([res.status, res.body.error.data.reason]).toEqual([401, 'USER_INACTIVE'])

    const gone = await registerClient(
      server.db,
      { name: 'Gone', grants: ['client_credentials'], scopes: 'read' },
      server.config.oauthGrants,
    )
    const goneToken = await issue(server, { clientId: gone.clientId, scope: 'read' })
    expect((await query(server.url, 'content.scoped', { token: goneToken })).status).toBe(200)
    await server.db.deleteFrom('oauth_clients').where('id', '=', gone.clientId).execute()
    const after = await query(server.url, 'content.scoped', { token: goneToken })
    expect(after.status).toBe(401)
  })

  it('our own access token never passes as OAuth, nor an at+jwt as ours', async () => {
    const { access } = await login(server.url, alice as { username: string; password: string })
    // ours: authenticated by bearer, no token part, so HasScope-style checks see no OAuth token
    expect((await query(server.url, 'content.scoped', { token: access })).body.result.data.oauth).toBeNull()
    // an at+jwt where only `bearer` runs: nobody claims it, so the caller is anonymous
    await using bearerOnly = await startTestServer({ AUTH_SCHEMES: 'bearer,token' })
    const foreign = await query(bearerOnly.url, 'content.protected', { token: await userToken('read') })
    expect([foreign.status, foreign.body.error.data.reason]).toEqual([401, 'NOT_AUTHENTICATED'])
  })

  it('under JWT_ALGORITHM=HS256 OAuth tokens are verified with the OAuth server own EdDSA keys', async () => {
    await using hs = await startTestServer({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'x'.repeat(40) })
    const created = await registerClient(
      hs.db,
      { name: 'HS', grants: ['client_credentials'], scopes: 'read' },
      hs.config.oauthGrants,
    )
    const res = await wire(`${hs.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${created.clientId}:${created.secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials&scope=read',
    })
    expect(res.status).toBe(200)
    const token = res.body.access_token as string
    expect(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString())).toMatchObject({
      alg: 'EdDSA',
      typ: 'at+jwt',
    })
    const scoped = await query(hs.url, 'content.scoped', { token })
    expect(scoped.body.result.data.username).toBe(`client:${created.clientId}`)
    // and an HS256 token of ours is still ours only
    const user = await hs.createUser()
    const { access } = await login(hs.url, user)
    expect((await query(hs.url, 'content.scoped', { token: access })).body.result.data.oauth).toBeNull()
  })

  it('end to end: client_credentials from /oauth/token calls a scoped procedure', async () => {
    const discovery = await wire(`${server.url}/oauth/.well-known/openid-configuration`)
    expect(discovery.status).toBe(200)
    const basic = Buffer.from(
      `${encodeURIComponent(service.clientId)}:${encodeURIComponent(service.clientSecret)}`,
    ).toString('base64')
    const res = await wire(discovery.body.token_endpoint as string, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read' }).toString(),
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'read', expires_in: expect.any(Number) })
    const scoped = await query(server.url, 'content.scoped', { token: res.body.access_token as string })
    expect(scoped.status).toBe(200)
    expect(scoped.body.result.data).toEqual({
      message: 'This is a scoped view',
      username: `client:${service.clientId}`,
      oauth: { clientId: service.clientId, scopes: ['read'] },
    })
    const write = await mutation(
      server.url,
      'articles.create',
      { title: 'x', body: 'y' },
      res.body.access_token as string,
    )
    expect(write.status).toBe(403)
  })
})

describe(`${TEST_BACKEND}: a client made with the CLI, as an operator would`, () => {
  it('createclient --json, then its client_credentials token calls a scoped procedure of the running server', async () => {
    const store = await createProcessStore('gh_oauth_resource')
    try {
      const created = await runCli(
        ['createclient', '--name', 'Nightly', '--grants', 'client_credentials', '--scopes', 'read write', '--json'],
        store.env,
      )
      expect([created.code, created.stderr]).toEqual([0, ''])
      const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string; clientSecret: string }
      await using server = await startServerProcess(store.env)
      const token = await tokenRequest(server.url, {
        form: { grant_type: 'client_credentials', scope: 'read' },
        authorization: basic(clientId, clientSecret),
      })
      expect(token.status).toBe(200)
      const scoped = await query(server.url, 'content.scoped', { token: token.body.access_token as string })
      expect(scoped.body).toEqual({
        result: {
          data: {
            message: 'This is a scoped view',
            username: `client:${clientId}`,
            oauth: { clientId, scopes: ['read'] },
          },
        },
      })
    } finally {
      await store.dispose()
    }
  })
})
