/**
 * `createGatehouseClient`: the server's procedures as plain async functions, with the login held
 * the way the mode says (tokens in a storage adapter, or the server's cookies), sent on every
 * call, and refreshed when it expires.
 *
 * This module only puts the parts together; each lives in `internal/`: the options checked
 * (options.ts), the login held, sent and refreshed (credentials.ts, on session.ts and, in cookie
 * mode, cookie-transport.ts), the link chain (transport.ts), `client.auth`'s login and logout
 * (mode-auth.ts), `can()`'s subject (permissions-cache.ts), and the procedures (procedures.ts).
 */
import type { ProcedurePath } from './internal/procedures.js'
import type { BearerSource } from './internal/session.js'
import type { GatehouseRouter } from './router.js'
import type { GatehouseClient, GatehouseClientOptions } from './types.js'
import { createTRPCClient, getUntypedClient } from '@trpc/client'

import { memoryCookieJar } from './cookies/cookie-jar.js'
import { cookieTransport, hasBrowserCookies } from './internal/cookie-transport.js'
import { holdCredentials } from './internal/credentials.js'
import { createModeAuth } from './internal/mode-auth.js'
import { checkOptions } from './internal/options.js'
import { createPermissionsCache } from './internal/permissions-cache.js'
import { PROCEDURE_KINDS, procedureCaller } from './internal/procedures.js'
import { clientLinks } from './internal/transport.js'

/**
 * Creates a typed client for a Gatehouse server. Runs in browsers and in Node 20+ (global
 * `fetch`).
 *
 * @example
 * ```ts
 * import { createGatehouseClient, webStorage } from '@gatehouse/sdk'
 *
 * const client = createGatehouseClient({ url: 'https://auth.example.com', storage: webStorage() })
 * await client.auth.login({ username: 'alice', password: 'correct horse battery staple' })
 * const { message } = await client.content.protected() // refreshed behind the scenes when needed
 *
 * // The login in httpOnly cookies instead (a page served by the API's own origin):
 * const page = createGatehouseClient({ url: 'https://auth.example.com', mode: 'cookie' })
 *
 * // Server to server, with an API key (Authorization: Token <key>):
 * const service = createGatehouseClient({ url: 'https://auth.example.com', apiToken: process.env.GATEHOUSE_API_KEY })
 * ```
 */
export function createGatehouseClient(opts: GatehouseClientOptions): GatehouseClient {
  return buildClient(opts)
}

/** createGatehouseClient, with the credentials optionally held by `bearer` instead of a login. */
export function buildClient(opts: GatehouseClientOptions, bearer?: BearerSource): GatehouseClient {
  const { url, mode, apiToken, storage, now } = checkOptions(opts)

  // auth.me and the refresh exchanges are calls through the links that the credentials are part
  // of, so `call` exists only once those links do: the parts built before it call it late.
  const permissions = createPermissionsCache(() => call('auth.me'))

  const cookies =
    mode === 'cookie'
      ? cookieTransport({
          url,
          // Called as a plain function: a browser's fetch refuses to run as a method of another object.
          fetch: opts.fetch ?? ((input, init) => globalThis.fetch(input, init)),
          jar: opts.cookies ?? (hasBrowserCookies() ? undefined : memoryCookieJar()),
        })
      : undefined

  const credentials = holdCredentials({
    mode,
    apiToken,
    storage,
    now,
    bearer,
    cookies,
    call: (path, input) => call(path, input),
    onForget: permissions.forget,
  })
  const links = clientLinks({ url, fetch: opts.fetch, headers: opts.headers, batch: opts.batch, cookies, credentials })
  const trpc = createTRPCClient<GatehouseRouter>({ links })
  const call = procedureCaller(getUntypedClient(trpc))

  const auth = createModeAuth({ mode, cookies, credentials, permissions, call })

  const client: Record<string, unknown> = {
    trpc,
    can: permissions.can,
    loadPermissions: permissions.loadPermissions,
  }
  // Every other procedure, at its dotted path, as a plain call; `auth`'s own ones are kept.
  for (const path of Object.keys(PROCEDURE_KINDS) as ProcedurePath[]) {
    const segments = path.split('.')
    const name = segments.pop() ?? path
    let node = client
    for (const segment of segments) {
      node = (node[segment] ??= segment === 'auth' ? auth : {}) as Record<string, unknown>
    }
    node[name] ??= (input?: unknown) => call(path, input)
  }
  return client as unknown as GatehouseClient
}
