/**
 * What the authorization-server tests share, so each file says only what it checks: one server
 * with the test clients (createTestClients: service, web, spa and the resource server api) and
 * alice, and the calls those tests make as them.
 */
import { createLocalJWKSet } from 'jose'
import { beforeAll, expect } from 'vitest'

import type { ClientSpec } from './oauth.js'
import {
  authorize,
  basic,
  Browser,
  createTestClients,
  formPost,
  REDIRECT,
  registerClient,
  tokenRequest,
} from './oauth.js'
import { sharedServer } from './server.js'

export interface TestbedOptions {
  /** The server's settings beyond the test defaults. */
  env?: Record<string, string>
  /** @default DEFAULT_CLIENTS */
  clients?: { service: ClientSpec; web: ClientSpec; spa: ClientSpec }
  /** alice's email, written to her row (createUser makes users without one). */
  email?: string
}

/** A service that reads and writes, a web app with OpenID and both, and a single-page app that reads. */
export const DEFAULT_CLIENTS = {
  service: { name: 'Billing', scopes: 'read write' },
  web: { name: 'Web', scopes: 'openid profile read write' },
  spa: { name: 'SPA', scopes: 'openid read' },
}

/**
 * Call in a describe block (or at the top of a file): the server starts, the clients are
 * registered and alice created in beforeAll. The client and user objects are filled in then, so
 * read their fields inside tests; `base` and `issuer` are the server's URLs.
 * @example
 * const t = oauthTestbed({ clients: { service: { name: 'Billing', scopes: 'read' }, … } })
 * it('…', async () => { expect((await t.introspect(await t.serviceToken())).body.active).toBe(true) })
 */
export function oauthTestbed(o: TestbedOptions = {}) {
  const server = sharedServer(o.env)
  const service = { clientId: '', secret: '', serviceUser: null as { id: number; username: string } | null }
  const web = { clientId: '', secret: '' }
  const spa = { clientId: '' }
  /** The resource server: the one client that may introspect. */
  const api = { clientId: '', secret: '' }
  const alice = { id: 0, username: '', password: '' }
  beforeAll(async () => {
    const clients = await createTestClients(server.db, o.clients ?? DEFAULT_CLIENTS)
    Object.assign(service, clients.service)
    Object.assign(web, clients.web)
    Object.assign(spa, clients.spa)
    Object.assign(api, clients.api)
    Object.assign(alice, await server.createUser({ username: 'alice' }))
    if (o.email) await server.db.updateTable('users').set({ email: o.email }).where('id', '=', alice.id).execute()
  })

  const serviceAuth = () => basic(service.clientId, service.secret)
  const webAuth = () => basic(web.clientId, web.secret)
  const apiAuth = () => basic(api.clientId, api.secret)
  const issuer = () => `${server.url}/oauth`

  return {
    server,
    service,
    web,
    spa,
    api,
    alice,
    get base() {
      return server.url
    },
    get issuer() {
      return issuer()
    },
    serviceAuth,
    webAuth,
    apiAuth,

    /** The keys /.well-known/jwks.json publishes, to verify tokens with. */
    async jwks() {
      const res = await fetch(`${server.url}/.well-known/jwks.json`)
      return createLocalJWKSet((await res.json()) as { keys: [] })
    },

    /** A client_credentials access token for the service client. */
    async serviceToken(scope = 'read') {
      const res = await tokenRequest(server.url, {
        form: { grant_type: 'client_credentials', scope },
        authorization: serviceAuth(),
      })
      expect(res.status).toBe(200)
      return res.body.access_token as string
    },

    /** RFC 7662 introspection, as the resource server unless another client's authorization is given. */
    introspect: (token: string, authorization = apiAuth()) =>
      formPost(`${issuer()}/token/introspection`, { form: { token }, authorization }),

    /** The token endpoint's authorization_code grant for REDIRECT, with `form` (the code, its verifier…). */
    exchange: (form: Record<string, string>, authorization?: string) =>
      tokenRequest(server.url, {
        form: { grant_type: 'authorization_code', redirect_uri: REDIRECT, ...form },
        ...(authorization ? { authorization } : {}),
      }),

    /**
     * A code for alice through the pages (signing in, consenting), for the web client unless
     * another is given, in a fresh browser unless one is. `verifier` is the PKCE verifier the
     * helper made when no `challenge` was given.
     */
    async codeFor(c: { clientId?: string; scope?: string; browser?: Browser; challenge?: string; method?: string }) {
      const result = await authorize(c.browser ?? new Browser(), {
        base: server.url,
        clientId: c.clientId ?? web.clientId,
        redirectUri: REDIRECT,
        scope: c.scope ?? 'openid profile read',
        challenge: c.challenge,
        method: c.method,
        user: alice,
      })
      return { code: result.params.get('code') ?? '', verifier: result.verifier ?? '', result }
    },

    /** A new confidential web client, so no grant from another test is remembered for it. */
    newWebClient: (scopes = 'openid profile email read write') =>
      registerClient(server.db, {
        name: 'Another app',
        grants: ['authorization_code', 'refresh_token'],
        redirectUris: [REDIRECT],
        scopes,
      }),
  }
}

/**
 * The testbed the oauth-provider-* files share: clients with every scope a grant test asks for
 * (a web client whose name needs escaping on the consent page), alice with an email for the ID
 * token, and a rotated key that signs at once (key activation has its own tests: keys.test.ts).
 */
export function providerTestbed() {
  return oauthTestbed({
    env: { KEY_ACTIVATION_DELAY: '0' },
    clients: {
      service: { name: 'Billing service', scopes: 'read write' },
      web: { name: 'Web <App>', scopes: 'openid profile email read write' },
      spa: { name: 'Single page app', scopes: 'openid profile read' },
    },
    email: 'alice@example.com',
  })
}
