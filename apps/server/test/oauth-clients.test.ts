/**
 * OAuth client management: the admin procedures over HTTP and the CLI as an operator runs it
 * (createclient, listclients, deleteclient), with the secret shown once and stored hashed.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { newClientId } from '../src/oauth-core/clients.js'
import { errorBody, loginAs, mutation, query, ROOT } from './helpers/http.js'
import { basic, REDIRECT, tokenRequest } from './helpers/oauth.js'
import type { ProcessStore } from './helpers/process.js'
import { createProcessStore, runCli, startServerProcess } from './helpers/process.js'
import { sharedServer } from './helpers/server.js'

describe(`${TEST_BACKEND}: admin.oauthClients over HTTP`, () => {
  const server = sharedServer()
  let root: string
  let plain: string

  beforeAll(async () => {
    root = (await loginAs(server, { username: 'root', ...ROOT })).access
    plain = (await loginAs(server, { username: 'plain' })).access
  })

  it('creates a confidential client: the secret is in this answer only, and works at the token endpoint', async () => {
    const res = await mutation(
      server.url,
      'admin.oauthClients.create',
      { name: 'Billing', grants: ['client_credentials'], scopes: 'read write' },
      root,
    )
    expect(res.status).toBe(200)
    const { client, clientSecret } = res.body.result.data
    expect(client).toEqual({
      clientId: expect.stringMatching(/^[\w-]{22}$/),
      name: 'Billing',
      public: false,
      resourceServer: false,
      grants: ['client_credentials'],
      redirectUris: [],
      scopes: 'read write',
      serviceUser: { id: expect.any(Number), username: `client:${client.clientId}` },
      createdAt: expect.any(String),
    })
    expect(clientSecret).toMatch(/^[\w-]{43}$/)
    const token = await tokenRequest(server.url, {
      form: { grant_type: 'client_credentials', scope: 'read' },
      authorization: basic(client.clientId, clientSecret),
    })
    expect(token.status).toBe(200)

    const listed = await query(server.url, 'admin.oauthClients.list', { token: root })
    expect(listed.status).toBe(200)
    expect(listed.body.result.data.items).toContainEqual(client)
    expect(JSON.stringify(listed.body)).not.toContain(clientSecret)
    const row = await server.db
      .selectFrom('oauth_clients')
      .selectAll()
      .where('id', '=', client.clientId)
      .executeTakeFirstOrThrow()
    expect(JSON.stringify(row)).not.toContain(clientSecret)
    expect(JSON.stringify(listed.body)).not.toContain(row.secret_hash)
    // The service user cannot log in with any password.
    const serviceLogin = await mutation(server.url, 'auth.login', {
      username: `client:${client.clientId}`,
      password: row.secret_hash,
    })
    expect(serviceLogin.status).toBe(401)
  })

  it('creates a public client without a secret and without a service user', async () => {
    const res = await mutation(
      server.url,
      'admin.oauthClients.create',
      {
        name: 'SPA',
        grants: ['authorization_code', 'refresh_token'],
        redirectUris: [REDIRECT],
        scopes: 'openid read',
        public: true,
      },
      root,
    )
    expect(res.status).toBe(200)
    expect(res.body.result.data).toMatchObject({
      clientSecret: null,
      client: { public: true, serviceUser: null, redirectUris: [REDIRECT] },
    })
  })

  it('deletes a client, its tokens and its service user', async () => {
    const created = (
      await mutation(
        server.url,
        'admin.oauthClients.create',
        { name: 'Gone', grants: ['client_credentials'], scopes: 'read' },
        root,
      )
    ).body.result.data
    const del = await mutation(server.url, 'admin.oauthClients.delete', { clientId: created.client.clientId }, root)
    expect(del.status).toBe(200)
    expect(del.body.result.data).toEqual({ detail: 'Deleted.' })
    const token = await tokenRequest(server.url, {
      form: { grant_type: 'client_credentials', scope: 'read' },
      authorization: basic(created.client.clientId, created.clientSecret),
    })
    expect(token.status).toBe(401)
    const again = await mutation(server.url, 'admin.oauthClients.delete', { clientId: created.client.clientId }, root)
    expect(again.status).toBe(404)
    expect(again.body.error.message).toBe(`No OAuth client "${created.client.clientId}".`)
  })

  it('names the field of every bad input (400)', async () => {
    const cases: [Record<string, unknown>, Record<string, string[]>][] = [
      [{ name: 'x', grants: [], scopes: 'read' }, { grants: ['Give at least one grant.'] }],
      [
        { name: 'x', grants: ['authorization_code'], scopes: 'read' },
        { redirectUris: ['authorization_code needs at least one redirect URI.'] },
      ],
      [
        { name: 'x', grants: ['authorization_code'], redirectUris: ['https://a.example/cb#frag'], scopes: 'read' },
        { redirectUris: ['"https://a.example/cb#frag" must not have a fragment.'] },
      ],
      [
        { name: 'x', grants: ['authorization_code'], redirectUris: ['javascript:alert(1)'], scopes: 'read' },
        { redirectUris: ['"javascript:alert(1)" must use http or https.'] },
      ],
      [
        { name: 'x', grants: ['client_credentials'], scopes: 'read admin' },
        { scopes: ['Unknown scope admin; expected some of openid profile email offline_access read write.'] },
      ],
      [
        { name: 'x', grants: ['client_credentials'], scopes: 'read', public: true },
        { grants: ['A public client cannot use client_credentials: it has no secret.'] },
      ],
      [
        { name: 'x', grants: ['refresh_token'], scopes: 'read' },
        { grants: ['refresh_token needs authorization_code.'] },
      ],
      [
        { name: ' ', grants: ['client_credentials'], scopes: 'read' },
        { name: ['Ensure this field has 1 to 150 characters.'] },
      ],
    ]
    for (const [input, fieldErrors] of cases) {
      const res = await mutation(server.url, 'admin.oauthClients.create', input, root)
      expect(res.status, JSON.stringify(input)).toBe(400)
      expect(res.body.error.data.fieldErrors).toEqual(fieldErrors)
    }
    const badGrant = await mutation(
      server.url,
      'admin.oauthClients.create',
      { name: 'x', grants: ['password'], scopes: 'read' },
      root,
    )
    expect(badGrant.status).toBe(400)
    expect(badGrant.body.error.data.fieldErrors).toEqual({
      'grants.0': ['Expected one of authorization_code, client_credentials, refresh_token.'],
    })
  })

  it('needs the oauthclient model permissions: 401 anonymous, 403 without them', async () => {
    const anonymous = await query(server.url, 'admin.oauthClients.list')
    expect(anonymous.status).toBe(401)
    const refused = await mutation(
      server.url,
      'admin.oauthClients.create',
      { name: 'x', grants: ['client_credentials'], scopes: 'read' },
      plain,
    )
    expect(refused.status).toBe(403)
    expect(refused.body).toEqual(
      errorBody({
        message: 'You do not have permission to perform this action.',
        code: 'FORBIDDEN',
        httpStatus: 403,
        path: 'admin.oauthClients.create',
        reason: 'NOT_PERMITTED',
      }),
    )
  })
})

it('client ids never start with "-" or "_" (one that did read as an option to deleteclient)', () => {
  const ids = Array.from({ length: 5000 }, newClientId)
  expect(ids.filter((id) => /^[-_]/.test(id))).toEqual([])
  expect(ids.every((id) => /^[\w-]{22}$/.test(id))).toBe(true)
})

describe(`${TEST_BACKEND}: createclient, listclients, deleteclient`, () => {
  let store: ProcessStore
  beforeAll(async () => {
    store = await createProcessStore('gh_oauth_cli')
  })
  afterAll(() => store?.dispose())

  it('--json prints only {"clientId","clientSecret"}; the server issues tokens for it; deleteclient ends it', async () => {
    const created = await runCli(
      [
        'createclient',
        '--name',
        'Reports',
        '--grants',
        'client_credentials',
        '--scopes',
        'read',
        '--resource-server',
        '--json',
      ],
      store.env,
    )
    expect(created.code).toBe(0)
    expect(created.stderr).toBe('')
    const parsed = JSON.parse(created.stdout) as { clientId: string; clientSecret: string }
    expect(Object.keys(parsed)).toEqual(['clientId', 'clientSecret'])
    expect(created.stdout).toBe(`${JSON.stringify(parsed)}\n`)

    await using server = await startServerProcess(store.env)
    const token = await tokenRequest(server.url, {
      form: { grant_type: 'client_credentials', scope: 'read' },
      authorization: basic(parsed.clientId, parsed.clientSecret),
    })
    expect(token.status).toBe(200)

    const web = await runCli(
      [
        'createclient',
        '--name',
        'Web app',
        '--grants',
        'authorization_code,refresh_token',
        '--redirect-uri',
        REDIRECT,
        '--redirect-uri',
        'http://127.0.0.1:8080/cb',
        '--scopes',
        'openid read write',
        '--public',
      ],
      store.env,
    )
    expect(web.code).toBe(0)
    expect(web.stdout).toMatch(
      /^Client "Web app" created\.\nclient_id: [\w-]{22}\nPublic client: no secret; it must use PKCE \(S256\)\.\n$/,
    )

    const listed = await runCli(['listclients'], store.env)
    expect(listed.code).toBe(0)
    const lines = listed.stdout.trim().split('\n')
    expect(lines[0]).toBe('client_id\tname\ttype\tresource_server\tgrants\tscopes\tredirect_uris')
    expect(lines[1]).toBe(`${parsed.clientId}\tReports\tconfidential\tyes\tclient_credentials\tread\t`)
    expect(lines[2]).toMatch(
      new RegExp(
        `\\tWeb app\\tpublic\\tno\\tauthorization_code,refresh_token\\topenid read write\\t${REDIRECT},http://127.0.0.1:8080/cb$`,
      ),
    )
    expect(listed.stdout).not.toContain(parsed.clientSecret)

    const deleted = await runCli(['deleteclient', parsed.clientId], store.env)
    expect(deleted).toEqual({
      code: 0,
      stdout: `Client ${parsed.clientId} deleted; its tokens no longer work.\n`,
      stderr: '',
    })
    const introspection = await fetch(`${server.url}/oauth/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(parsed.clientId, parsed.clientSecret),
      },
      body: new URLSearchParams({ token: token.body.access_token as string }).toString(),
    })
    expect(introspection.status).toBe(401)
    const refused = await tokenRequest(server.url, {
      form: { grant_type: 'client_credentials', scope: 'read' },
      authorization: basic(parsed.clientId, parsed.clientSecret),
    })
    expect(refused.status).toBe(401)
  })

  it('reports bad arguments on stderr with the field or option named', async () => {
    const missing = await runCli(['createclient', '--grants', 'client_credentials', '--scopes', 'read'], store.env)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^gatehouse createclient: --name is required \(usage: gatehouse createclient /)
    const badGrant = await runCli(
      ['createclient', '--name', 'x', '--grants', 'password', '--scopes', 'read'],
      store.env,
    )
    expect(badGrant).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        'gatehouse createclient: grants: Unknown grant password; expected authorization_code, client_credentials, refresh_token.\n',
    })
    const plainHttp = await runCli(
      [
        'createclient',
        '--name',
        'x',
        '--grants',
        'authorization_code',
        '--redirect-uri',
        'http://app.example.com/cb',
        '--scopes',
        'read',
      ],
      store.env,
    )
    expect(plainHttp).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        'gatehouse createclient: redirectUris: "http://app.example.com/cb" must use https; http only on a loopback IP literal, 127.0.0.1 or [::1] (not localhost: RFC 8252 §8.3).\n',
    })
    const publicResourceServer = await runCli(
      [
        'createclient',
        '--name',
        'x',
        '--grants',
        'authorization_code',
        '--redirect-uri',
        REDIRECT,
        '--scopes',
        'read',
        '--public',
        '--resource-server',
      ],
      store.env,
    )
    expect(publicResourceServer).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        'gatehouse createclient: resourceServer: A public client cannot be a resource server: it has no secret to introspect with.\n',
    })
    const unknown = await runCli(['deleteclient', 'nope'], store.env)
    expect(unknown).toMatchObject({ code: 1, stderr: 'gatehouse deleteclient: No OAuth client "nope".\n' })
  })
})
