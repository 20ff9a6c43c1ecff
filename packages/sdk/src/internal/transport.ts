/**
 * How calls go on the wire: the headers each request carries, batching, and the chain of links
 * the client is built on (refresh, then cookie mode's CSRF retry, then HTTP).
 */
import type { Operation, TRPCLink } from '@trpc/client'
import type { GatehouseRouter } from '../router.js'
import type { GatehouseClientOptions } from '../types.js'
import type { CookieTransport } from './cookie-transport.js'
import type { Credentials } from './credentials.js'
import { httpBatchLink, httpLink, splitLink } from '@trpc/client'

import { csrfRetryLink } from '../links/csrf.js'
import { refreshLink } from '../links/refresh.js'
import { TOKEN_PATHS, UNBATCHED_COOKIE_PATHS } from './procedures.js'

// Longer batched GET URLs are split: some proxies and browsers refuse more than about 8 KB.
const MAX_URL_LENGTH = 4_000
/** The server refuses a batch of more calls than this (apps/server/src/http/server.ts, MAX_BATCH_SIZE). */
const MAX_BATCH_ITEMS = 100

export interface LinksOptions extends Pick<GatehouseClientOptions, 'fetch' | 'headers' | 'batch'> {
  /** The tRPC endpoint, `<url>/trpc`. */
  url: string
  /** Cookie mode's transport, whose `fetch` carries the cookies; undefined in the other modes. */
  cookies: CookieTransport | undefined
  credentials: Pick<Credentials, 'authorization' | 'renewal'>
}

/**
 * @example
 * const trpc = createTRPCClient<GatehouseRouter>({ links: clientLinks({ url, fetch, headers, batch, cookies, credentials }) })
 */
export function clientLinks(opts: LinksOptions): TRPCLink<GatehouseRouter>[] {
  const { url, cookies, credentials } = opts

  async function headersFor(ops: readonly Operation[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {}
    // The token endpoints go without: an expired access token must not get in the way of logging in again.
    if (ops.some((op) => !TOKEN_PATHS.has(op.path))) {
      const authorization = await credentials.authorization()
      if (authorization !== undefined) out.authorization = authorization
    }
    const extra = typeof opts.headers === 'function' ? await opts.headers() : opts.headers
    for (const [name, value] of Object.entries(extra ?? {})) {
      // Lower-cased so that `Authorization` replaces ours instead of being sent beside it.
      if (value !== undefined) out[name.toLowerCase()] = value
    }
    return out
  }

  const fetch = cookies?.fetch ?? opts.fetch
  const single = () => httpLink<GatehouseRouter>({ url, fetch, headers: ({ op }) => headersFor([op]) })
  const batched = () =>
    httpBatchLink<GatehouseRouter>({
      url,
      fetch,
      maxURLLength: MAX_URL_LENGTH,
      maxItems: MAX_BATCH_ITEMS,
      headers: ({ opList }) => headersFor(opList),
    })
  const transport =
    opts.batch === false
      ? single()
      : cookies
        ? splitLink<GatehouseRouter>({
            condition: (op) => UNBATCHED_COOKIE_PATHS.has(op.path),
            true: single(),
            false: batched(),
          })
        : batched()

  // No renewal (an API key): no refresh link, its 401 is the answer.
  if (!credentials.renewal) return [transport]
  const refresh = refreshLink<GatehouseRouter>({ ...credentials.renewal, skip: (path) => TOKEN_PATHS.has(path) })
  return cookies
    ? [refresh, csrfRetryLink<GatehouseRouter>({ hasToken: () => cookies.hasCsrfToken() }), transport]
    : [refresh, transport]
}
