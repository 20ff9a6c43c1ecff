import type { GatehouseFetch } from '../../src/index.js'

export interface RecordedRequest {
  method: string
  /** Procedure paths in the request: one, or several for a batch. */
  paths: string[]
  authorization: string | null
  headers: Headers
}

/**
 * A `fetch` that records every request the client sends, then sends it. `delayResponse` holds
 * back the answer to a request by that many milliseconds, to order responses in a test.
 */
export function recordingFetch(opts: { delayResponse?: (request: RecordedRequest) => number } = {}) {
  const requests: RecordedRequest[] = []
  const fetchFn: GatehouseFetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
    const headers = new Headers(init?.headers)
    const request: RecordedRequest = {
      method: init?.method ?? 'GET',
      paths: decodeURIComponent(url.pathname.replace(/^.*\/trpc\//, '')).split(','),
      authorization: headers.get('authorization'),
      headers,
    }
    requests.push(request)
    const response = await fetch(input, init)
    const delay = opts.delayResponse?.(request) ?? 0
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
    return response
  }
  return {
    fetch: fetchFn,
    requests,
    /** Requests that called `path`. */
    calls: (path: string) => requests.filter((r) => r.paths.includes(path)),
  }
}

/** Calls a mutation over plain HTTP, outside the SDK. */
export function rawMutation(baseUrl: string, path: string, input: unknown) {
  return rawPost(baseUrl, path, { input })
}

/** Calls a mutation over plain HTTP, outside the SDK, with headers of the test's choosing. */
export async function rawPost(
  baseUrl: string,
  path: string,
  opts: { input: unknown; headers?: Record<string, string> },
) {
  const res = await fetch(`${baseUrl}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify(opts.input),
  })
  const body = (await res.json()) as { error?: { message?: string; data?: Record<string, unknown> } }
  return { status: res.status, body }
}

/** Calls a query over plain HTTP, outside the SDK. */
export async function rawQuery(baseUrl: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}/trpc/${path}`, { headers })
  return { status: res.status, body: (await res.json()) as { error?: { data?: Record<string, unknown> } } }
}

/** Seconds-since-epoch expiry of a JWT, read without verifying it. */
export function expiryOf(jwt: string): number {
  const payload = jwt.split('.')[1] ?? ''
  const { exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp: number }
  return exp
}
