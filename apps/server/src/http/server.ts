/**
 * The HTTP front: /trpc (trpc-lean.ts, or tRPC's node adapter with HTTP_ADAPTER=stock), /api (the REST facade, rest/; its OpenAPI document
 * at /api/openapi.json, shown by Swagger UI at /api/docs, docs.ts), /healthz, /.well-known/jwks.json.
 */
import cluster from 'node:cluster'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:http'
import type { TLSSocket } from 'node:tls'

import type { Authenticator, AuthResponse } from '@gatehouse/auth'
import { sql } from 'kysely'
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http'

import type { ContextDeps } from '../context.js'
import { resolveAuthenticators } from '../authenticators.js'
import { createContextInner } from '../context.js'
import { createRestHandler } from '../rest/handler.js'
import { openApiDocument } from '../rest/openapi.js'
import { appRouter } from '../routers/_app.js'
import { tooLargeMessage } from '../kit/body.js'
import { challengeFor, challenges } from '../kit/challenge.js'
import { clientAddress } from '../kit/client-address.js'
import { CookieJar, cookiesAreSecure, parseCookieHeader } from '../kit/cookies.js'
import { sendJson } from '../kit/json.js'
import { trpcErrorBody } from '../kit/wire-errors.js'
import { createDocsHandler } from './docs.js'
import type { OAuthServer } from '../oauth/provider.js'
import type { TrpcHandlerOptions } from './trpc-lean.js'
import { leanHTTPRequestHandler } from './trpc-lean.js'

const TRPC_PREFIX = '/trpc/'
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' }

export interface HttpOptions extends ContextDeps {
  /** The OAuth authorization server, answering under /oauth (oauth/provider.ts); absent, /oauth is 404. */
  oauth?: OAuthServer | undefined
  /** Called with unexpected errors (never with a client's bad input). */
  onError?: (error: unknown, path: string | undefined) => void
}

/** The headers as authenticators see them: one string per name (node keeps only set-cookie as a list). */
function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const headers = req.headers
  // Almost always every value is already a string: then node's own object serves, uncopied.
  for (const name in headers) {
    if (Array.isArray(headers[name])) {
      const out: Record<string, string | undefined> = {}
      for (const [key, value] of Object.entries(headers)) out[key] = Array.isArray(value) ? value.join(', ') : value
      return out
    }
  }
  return headers as Record<string, string | undefined>
}

/** Whether the request came over TLS (an https server); a TLS-terminating proxy in front does not count. */
function arrivedOverTls(req: IncomingMessage): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true
}

export function createRequestListener(opts: HttpOptions) {
  const { auth, config } = opts
  // Resolved once: a request only runs them, lazily.
  const authenticators = opts.authenticators ?? resolveAuthenticators({ auth, config, oauth: opts.oauth?.settings })
  const db = auth.db

  async function health(res: ServerResponse) {
    try {
      await sql`select 1`.execute(db)
      sendJson(res, { status: 200, body: { status: 'ok' } })
    } catch {
      sendJson(res, { status: 503, body: { status: 'unavailable' } })
    }
  }

  const jarOf = (req: IncomingMessage) =>
    new CookieJar({ secure: cookiesAreSecure(config.cookieSecure, arrivedOverTls(req)) })

  /** A request's context, built this one way for /trpc and /api (which narrows the authenticators per view). */
  function contextOf(req: IncomingMessage, o: { response: AuthResponse; authenticators?: readonly Authenticator[] }) {
    const cookieHeader = req.headers.cookie
    const http = {
      method: req.method ?? 'GET',
      cookies: cookieHeader === undefined ? undefined : parseCookieHeader(cookieHeader),
      secure: arrivedOverTls(req),
      response: o.response,
    }
    return createContextInner(
      { auth, config, authenticators: o.authenticators ?? authenticators },
      {
        authorization: req.headers.authorization,
        headers: headersOf(req),
        address: clientAddress(req, config.numProxies),
        http,
      },
    )
  }

  const rest = createRestHandler({ config, authenticators, contextOf, jarOf, onError: opts.onError })
  const openApi = openApiDocument({ authSchemes: authenticators.map((a) => a.scheme) })
  const docs = createDocsHandler()
  // HTTP_ADAPTER: the lean layer by default; tRPC's own adapter stays selectable, and CI runs the suite on both.
  const trpcHandler: (o: TrpcHandlerOptions<typeof appRouter>) => Promise<void> =
    config.httpAdapter === 'stock' ? nodeHTTPRequestHandler : leanHTTPRequestHandler

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    const pathname = url.split('?', 1)[0] ?? '/'

    if (pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return health(res)
    if (pathname === '/.well-known/jwks.json' && (req.method === 'GET' || req.method === 'HEAD')) {
      return sendJson(res, { status: 200, body: auth.keys.jwks(), headers: { 'cache-control': 'public, max-age=300' } })
    }
    if (opts.oauth && (pathname === '/oauth' || pathname.startsWith('/oauth/'))) return opts.oauth.handle(req, res)
    if (pathname === '/api/openapi.json' && (req.method === 'GET' || req.method === 'HEAD')) {
      const payload = openApi()
      res.writeHead(200, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(payload) })
      return void res.end(payload)
    }
    if (pathname === '/api/docs' || pathname.startsWith('/api/docs/')) {
      if (await docs(req, res)) return
    }
    if (pathname.startsWith('/api/')) return rest(req, res)
    if (!pathname.startsWith(TRPC_PREFIX)) {
      return sendJson(res, { status: 404, body: { detail: 'Not found.' } })
    }

    // Refuse an oversized body before reading a byte of it when the client says how big it is.
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > config.maxBodyBytes) {
      res.setHeader('connection', 'close')
      const message = tooLargeMessage(config.maxBodyBytes)
      return sendJson(res, { status: 413, body: trpcErrorBody('PAYLOAD_TOO_LARGE', message) })
    }

    // One jar per HTTP request: every call of a batch adds to it, and responseMeta writes it once.
    const jar = jarOf(req)

    await trpcHandler({
      req,
      res,
      router: appRouter,
      // Still URL-encoded: the adapter decodes it once, and answers a malformed escape with a 400.
      path: pathname.slice(TRPC_PREFIX.length),
      maxBodySize: config.maxBodyBytes,
      maxBatchSize: MAX_BATCH_SIZE,
      allowMethodOverride: false,
      createContext: () => contextOf(req, { response: jar }),
      responseMeta({ errors }) {
        // Cookies go out with errors too: a dead session's cookie is cleared by its 401.
        const cookies = jar.headers()
        if (errors.length === 0 && cookies.length === 0) return {} // the common answer: nothing to add
        const challenged = errors.find((e) => e.code === 'UNAUTHORIZED' && challenges(e.cause))
        // The scheme whose credential failed names itself (`Token`, `Bearer realm="api"`).
        const challenge = challenged && challengeFor(challenged.cause, authenticators)
        const headers: Record<string, string | string[]> = challenge ? { 'www-authenticate': challenge } : {}
        // A batch can hold several refusals; the longest wait is the one that holds.
        const waits = errors.map((e) => (e.cause as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds)
        const retryAfter = Math.max(0, ...waits.filter((w): w is number => typeof w === 'number'))
        if (retryAfter > 0) headers['retry-after'] = String(retryAfter)
        if (cookies.length > 0) headers['set-cookie'] = cookies
        return { headers }
      },
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') opts.onError?.(error.cause ?? error, path)
      },
    })
  }
}

/**
 * The most calls one batched request may carry (400 past it). Every call is authorised and
 * throttled on its own, but without a bound one request could still buy the work of a thousand.
 * The SDK's batch link splits at the same size (packages/sdk/src/internal/transport.ts, MAX_BATCH_ITEMS).
 */
export const MAX_BATCH_SIZE = 100

export function createHttpServer(opts: HttpOptions) {
  const listener = createRequestListener(opts)
  // WORKERS > 1 only: which worker answered (its node:cluster id), so an operator can tell them apart.
  const workerId = cluster.isWorker ? String(cluster.worker?.id) : undefined
  const server = createServer((req, res) => {
    if (workerId !== undefined) res.setHeader('x-gatehouse-worker', workerId)
    listener(req, res).catch((err: unknown) => {
      opts.onError?.(err, req.url)
      if (!res.headersSent) {
        sendJson(res, { status: 500, body: trpcErrorBody('INTERNAL_SERVER_ERROR') })
      } else res.destroy()
    })
  })
  // Slow-loris guards: a client gets 30 s to send its headers and 60 s for the whole request.
  server.headersTimeout = 30_000
  server.requestTimeout = 60_000
  return server
}
