import { request } from 'node:http'

import type { TestServer } from '../../src/testing.js'

/** Raw wire calls, so tests see exactly what curl would: status, headers, body. */
export interface WireResponse {
  status: number
  headers: Headers
  body: any
}

export async function wire(
  url: string,
  opts: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<WireResponse> {
  const res = await fetch(url, { method: opts.method ?? 'GET', body: opts.body, headers: opts.headers })
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body }
}

function auth(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {}
}

// eslint-disable-next-line max-params -- reads like the call it makes: (server, procedure, input, token)
export function mutation(base: string, path: string, input: unknown, token?: string) {
  return wire(`${base}/trpc/${path}`, {
    method: 'POST',
    body: JSON.stringify(input),
    headers: { 'content-type': 'application/json', ...auth(token) },
  })
}

interface Credentials {
  username: string
  password: string
}

/** What createUser takes: groups, isStaff, isSuperuser, a username or password of the test's own. */
export type NewUser = Parameters<TestServer['createUser']>[0]

/** A superuser: what the admin tests call root. */
export const ROOT = { isSuperuser: true, isStaff: true } satisfies NewUser

/** A sign-in procedure's answer for `user`, or a thrown error naming the status. */
async function signIn(base: string, path: string, o: { user: Credentials; headers?: Record<string, string> }) {
  const res = await wire(`${base}/trpc/${path}`, {
    method: 'POST',
    body: JSON.stringify({ username: o.user.username, password: o.user.password }),
    headers: { 'content-type': 'application/json', ...o.headers },
  })
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(res.body)}`)
  return res.body.result.data
}

/** `auth.login` for a user the test made, with `headers` (a user agent, say): the pair and the user. */
export async function login(base: string, user: Credentials, headers: Record<string, string> = {}) {
  return (await signIn(base, 'auth.login', { user, headers })) as {
    access: string
    refresh: string
    user: Record<string, any>
  }
}

/** A new user of `server`, signed in by `login`: its id and credentials, and its token pair. */
export async function loginAs(server: TestServer, opts: NewUser = {}, headers: Record<string, string> = {}) {
  const user = await server.createUser(opts)
  const { access, refresh } = await login(server.url, user, headers)
  return { ...user, access, refresh }
}

/** `auth.tokens.obtain`: the user's DRF key. */
export async function obtainKey(base: string, user: Credentials): Promise<string> {
  return (await signIn(base, 'auth.tokens.obtain', { user })).token
}

/** `auth.sliding.obtain`: a sliding token. */
export async function obtainSliding(base: string, user: Credentials): Promise<string> {
  return (await signIn(base, 'auth.sliding.obtain', { user })).token
}

export function query(
  base: string,
  path: string,
  opts: { input?: unknown; token?: string; headers?: Record<string, string> } = {},
) {
  const qs = opts.input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(opts.input))}`
  return wire(`${base}/trpc/${path}${qs}`, { headers: { ...auth(opts.token), ...opts.headers } })
}

/** The error body the wire contract promises, for exact comparisons. */
export function errorBody(opts: {
  message: string
  code: string
  httpStatus: number
  path: string
  reason?: string
  fieldErrors?: Record<string, string[]>
}) {
  const codes: Record<string, number> = {
    BAD_REQUEST: -32600,
    PARSE_ERROR: -32700,
    UNAUTHORIZED: -32001,
    FORBIDDEN: -32003,
    NOT_FOUND: -32004,
    CONFLICT: -32009,
    PAYLOAD_TOO_LARGE: -32013,
    METHOD_NOT_SUPPORTED: -32005,
    TOO_MANY_REQUESTS: -32029,
  }
  return {
    error: {
      message: opts.message,
      code: codes[opts.code],
      data: {
        code: opts.code,
        httpStatus: opts.httpStatus,
        path: opts.path,
        reason: opts.reason,
        ...(opts.fieldErrors ? { fieldErrors: opts.fieldErrors } : {}),
      },
    },
  }
}

/** GET over a fresh connection each time: a kept-alive one would stay with one worker. */
export function getFresh(url: string): Promise<{ status: number; worker: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume()
      res.on('end', () => {
        const worker = res.headers['x-gatehouse-worker']
        resolve({ status: res.statusCode ?? 0, worker: Array.isArray(worker) ? worker[0] : worker })
      })
    })
    req.on('error', reject)
    req.end()
  })
}
