/**
 * What the throttle tests share: calls from a chosen loopback address, the 429 body, and the
 * credentials auth.login takes.
 */
import { request } from 'node:http'

import { errorBody } from './http.js'

export interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: any
}

/**
 * A call from a chosen loopback address (127.0.0.0/8 all reach the server), so tests can be
 * several clients. fetch cannot pick its source address; node:http can.
 */
export function from(address: string) {
  const call = (url: string, opts: { method: string; body?: unknown; token?: string }) =>
    new Promise<Reply>((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body)
      const req = request(
        url,
        {
          method: opts.method,
          localAddress: address,
          headers: {
            ...(payload ? { 'content-type': 'application/json' } : {}),
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          },
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }))
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  return {
    query: (base: string, path: string, token?: string) => call(`${base}/trpc/${path}`, { method: 'GET', token }),
    mutation: (base: string, path: string, body: unknown) => call(`${base}/trpc/${path}`, { method: 'POST', body }),
  }
}

/** The 429 body, with DRF's message. */
export function throttledBody(path: string, seconds: number) {
  const unit = seconds === 1 ? 'second' : 'seconds'
  return errorBody({
    message: `Request was throttled. Expected available in ${seconds} ${unit}.`,
    code: 'TOO_MANY_REQUESTS',
    httpStatus: 429,
    path,
    reason: 'THROTTLED',
  })
}

/** What auth.login takes: createUser's result also carries the id, which the strict input refuses. */
export const creds = (user: { username: string; password: string }, password = user.password) => ({
  username: user.username,
  password,
})
