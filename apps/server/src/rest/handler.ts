/**
 * The REST facade at /api: DRF's wire format over the same procedures. A request is matched to a
 * view of the route table (routes.ts), gets the context /trpc would build (with the view's
 * authenticators), and its operation calls the procedure through createCaller; the result or the
 * error is written as DRF writes it. Nothing here decides who may do what.
 *
 * DRF's order is kept: authenticate (an Authorization header is checked on every view, AllowAny
 * ones included), then permissions, then the method (405 only for a caller who may use the view),
 * then the body (415, 400), then the view itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

import type { Authenticator, AuthResponse, ResponseCookie } from '@gatehouse/auth'
import { AuthError } from '@gatehouse/auth'
import { getHTTPStatusCodeFromError } from '@trpc/server/http'

import type { Config } from '../config.js'
import type { Context } from '../context.js'
import type { CookieJar } from '../kit/cookies.js'
import type { Reply } from './errors.js'
import type { RequestValues } from './input.js'
import type { AuthFamily, Method, Operation, RestView } from './table.js'
import { REFRESH_COOKIE_PATHS } from '../jwt-cookies.js'
import { bodyTooLarge, readBody } from '../kit/body.js'
import { BEARER_CHALLENGE } from '../kit/challenge.js'
import { toTRPCError } from '../kit/wire-errors.js'
import { createCaller } from '../routers/_app.js'
import { PARSED_MEDIA_TYPES, parseBody } from './body.js'
import { errorReply, isTokenError } from './errors.js'
import { inputFor, readsBody } from './input.js'
import { REST_VIEWS } from './routes.js'
import { allowOf, compileViews } from './table.js'

export interface RestDeps {
  config: Config
  /** The server's authenticators, in AUTH_SCHEMES order. */
  authenticators: readonly Authenticator[]
  /** The request's context exactly as /trpc builds it, with these authenticators and this cookie sink. */
  contextOf: (
    req: IncomingMessage,
    opts: { authenticators: readonly Authenticator[]; response: AuthResponse },
  ) => Context
  /** A new cookie jar for the request (Secure per COOKIE_SECURE and the request's TLS). */
  jarOf: (req: IncomingMessage) => CookieJar
  /** Called with unexpected errors (never with a client's bad input or an outage). */
  onError?: ((error: unknown, path: string | undefined) => void) | undefined
}

// Django's SecurityMiddleware and XFrameOptionsMiddleware headers, on every answer. Cache-Control
// is Gatehouse's: answers carry tokens and users.
const SECURITY_HEADERS = {
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
}

// Where the refresh cookie goes when the facade sets it: to the two URLs that read it, as the
// tRPC login scopes it to auth.refresh and auth.logout.
const REST_REFRESH_COOKIE_PATHS: Readonly<Record<string, string>> = {
  [REFRESH_COOKIE_PATHS[0]]: '/api/token/refresh/',
  [REFRESH_COOKIE_PATHS[1]]: '/api/logout/',
}

function restCookie(cookie: ResponseCookie): ResponseCookie {
  const path = cookie.path === undefined ? undefined : REST_REFRESH_COOKIE_PATHS[cookie.path]
  return path ? { ...cookie, path } : cookie
}

/** Calls a procedure by its dotted path, as `caller.auth.login(input)` would. */
function call(ctx: Context, path: string, input: unknown): Promise<unknown> {
  let node: unknown = createCaller(ctx)
  for (const key of path.split('.')) node = (node as Record<string, unknown>)[key]
  return (node as (input: unknown) => Promise<unknown>)(input)
}

/** A refusal of the caller (401, 403, 429) or an outage, as opposed to a complaint about the input. */
function refusesCaller(error: unknown): boolean {
  const status = getHTTPStatusCodeFromError(toTRPCError(error))
  return status === 401 || status === 403 || status === 429 || status >= 500
}

/**
 * DRF checks permissions before the method: a view's 405 and OPTIONS answer only a caller who may
 * use it. A view with a GET asks its query; otherwise a view that is not AllowAny needs a user.
 */
async function checkAccess(v: RestView, ctx: Context, values: RequestValues): Promise<void> {
  const get = v.operations.GET
  if (get) {
    try {
      await call(ctx, get.procedure, inputFor(get, values))
    } catch (error) {
      if (refusesCaller(error)) throw error
    }
    return
  }
  if (Object.values(v.operations).every((operation) => operation.public)) return
  if (!(await ctx.authenticate())) throw new AuthError('NOT_AUTHENTICATED')
}

function send(res: ServerResponse, reply: Reply, headers: Record<string, string | string[]>): void {
  const payload = reply.body === undefined ? undefined : JSON.stringify(reply.body)
  const typed = payload === undefined ? {} : { 'content-type': 'application/json' }
  const sized = payload === undefined ? {} : { 'content-length': String(Buffer.byteLength(payload)) }
  res.writeHead(reply.status, { ...typed, ...headers, ...sized, ...SECURITY_HEADERS, ...reply.headers })
  res.end(payload)
}

function absoluteUrl(req: IncomingMessage, secure: boolean): URL {
  try {
    return new URL(req.url ?? '/', `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`)
  } catch {
    return new URL(req.url ?? '/', 'http://localhost') // a Host header that is no host
  }
}

export function createRestHandler(deps: RestDeps) {
  const match = compileViews(REST_VIEWS)
  const only = (scheme: string) => deps.authenticators.filter((a) => a.scheme === scheme)
  const families: Record<AuthFamily, readonly Authenticator[]> = {
    token: only('token'),
    bearer: only('bearer'),
    none: [],
    default: deps.authenticators,
  }
  // A seed view whose scheme AUTH_SCHEMES leaves out still names it when it asks for credentials.
  const fallbackChallenges: Record<AuthFamily, string | undefined> = {
    token: 'Token',
    bearer: BEARER_CHALLENGE,
    none: undefined,
    default: undefined,
  }
  const readsCookies = (family: AuthFamily) =>
    families[family].some((a) => a.scheme === 'session' || a.scheme === 'cookie')
  const maxBytes = deps.config.maxBodyBytes

  /** Answers one request whose path starts with /api/. */
  return async function handleRest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET'
    const raw = req.url ?? '/'
    const at = raw.indexOf('?')
    const pathname = at === -1 ? raw : raw.slice(0, at)
    const search = at === -1 ? '' : raw.slice(at)
    const found = match(pathname)
    if (!found) {
      // Django's APPEND_SLASH, without losing a POST's body: 301 for reads, 308 (method and body kept) otherwise.
      if (!pathname.endsWith('/') && match(`${pathname}/`)) {
        const status = method === 'GET' || method === 'HEAD' ? 301 : 308
        res.writeHead(status, { location: `${pathname}/${search}`, 'content-length': '0', ...SECURITY_HEADERS })
        res.end()
        return
      }
      send(res, { status: 404, body: { detail: 'Not found.' }, headers: {} }, { vary: 'Accept' })
      return
    }

    const { view: v, params } = found
    const authenticators = families[v.auth]
    const jar = deps.jarOf(req)
    const values: RequestValues = { query: new URLSearchParams(search), params }
    let operation: Operation | undefined
    let ctx: Context | undefined
    let reply: Reply
    try {
      // Refused before a byte is read when the client says how big it is.
      if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw bodyTooLarge(maxBytes)
      ctx = deps.contextOf(req, { authenticators, response: { setCookie: (c) => jar.setCookie(restCookie(c)) } })
      if (req.headers.authorization !== undefined) await ctx.authenticate()
      operation = v.operations[(method === 'HEAD' ? 'GET' : method) as Method]
      if (!operation) {
        await checkAccess(v, ctx, values)
        reply =
          method === 'OPTIONS'
            ? {
                status: 200,
                body: {
                  name: v.name,
                  description: v.description,
                  renders: ['application/json'],
                  parses: PARSED_MEDIA_TYPES,
                },
                headers: {},
              }
            : { status: 405, body: { detail: `Method "${method}" not allowed.` }, headers: {} }
      } else {
        if (readsBody(operation))
          values.body = await parseBody(await readBody(req, maxBytes), req.headers['content-type'])
        const output = await call(ctx, operation.procedure, inputFor(operation, values))
        const request = { url: absoluteUrl(req, ctx.http?.request.secure ?? false) }
        const body = operation.status === 204 ? undefined : operation.respond(output as never, request)
        reply = { status: operation.status, body, headers: {} }
      }
    } catch (thrown) {
      // The memoised authentication tells a JWT refused by the authenticator from one refused by the view.
      const authenticationError =
        ctx && isTokenError(thrown)
          ? await ctx.authenticate().then(
              () => undefined,
              (e: unknown) => e,
            )
          : undefined
      const fallbackChallenge = fallbackChallenges[v.auth]
      const failed = errorReply(thrown, { operation, authenticators, fallbackChallenge, authenticationError })
      if (failed.internal !== undefined) deps.onError?.(failed.internal, operation?.procedure ?? v.path)
      reply = failed.reply
    }

    const cookies = jar.headers()
    const headers: Record<string, string | string[]> = {
      vary: v.cookies || cookies.length > 0 || readsCookies(v.auth) ? 'Accept, Cookie' : 'Accept',
      allow: allowOf(v),
    }
    if (cookies.length > 0) headers['set-cookie'] = cookies
    send(res, reply, headers)
  }
}
