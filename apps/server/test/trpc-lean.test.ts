/**
 * The lean /trpc layer (http/trpc-lean.ts) against tRPC's stock node adapter: two servers on one
 * database, one per HTTP_ADAPTER, get the same raw requests and must answer with the same status, the
 * same headers that carry meaning and the same bytes. CI also runs the whole suite once per adapter.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { request } from 'node:http'

import { TEST_SECRET_KEY } from '@gatehouse/auth/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { App } from '../src/app.js'
import { startApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { TestServer } from '../src/testing.js'
import { startTestServer } from '../src/testing.js'

interface Raw {
  method?: string
  path: string
  headers?: Record<string, string>
  body?: string
  /** Sent without Content-Length, so only the adapter's own limit can stop it. */
  chunked?: boolean
}

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  text: string
}

function send(base: string, raw: Raw): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...raw.headers }
    if (raw.body !== undefined && !raw.chunked) headers['content-length'] = Buffer.byteLength(raw.body)
    const req = request(`${base}${raw.path}`, { method: raw.method ?? 'GET', headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
    })
    req.on('error', reject)
    if (raw.chunked && raw.body !== undefined) {
      // Two writes: node sends them as chunks of a Transfer-Encoding: chunked body.
      const half = Math.floor(raw.body.length / 2)
      req.write(raw.body.slice(0, half))
      req.end(raw.body.slice(half))
    } else req.end(raw.body)
  })
}

/** Set-Cookie lines with their values masked: each server mints its own session key and CSRF token. */
function cookieShapes(headers: IncomingHttpHeaders): string[] {
  return (headers['set-cookie'] ?? []).map((line) => line.replace(/^([^=]+)=[^;]*/, '$1=<value>'))
}

/** What a client can tell apart: status, the meaningful headers, the exact body. */
function meaning(answer: Answer, opts: { maskBody?: (text: string) => string } = {}) {
  const h = answer.headers
  return {
    status: answer.status,
    contentType: h['content-type'],
    vary: h.vary,
    allow: h.allow,
    wwwAuthenticate: h['www-authenticate'],
    retryAfter: h['retry-after'],
    setCookie: cookieShapes(h),
    body: opts.maskBody ? opts.maskBody(answer.text) : answer.text,
  }
}

const json = { 'content-type': 'application/json' }
const enc = (value: unknown) => encodeURIComponent(JSON.stringify(value))
const LIMIT = 2048

describe('the lean /trpc layer answers as the stock adapter does', () => {
  let lean: TestServer
  let stock: App
  let access: string
  let member: { username: string; password: string }
  // One instant for both: throttle waits and token lifetimes then match to the second.
  const now = new Date()
  const clock = () => now
  const env = {
    MAX_BODY_BYTES: String(LIMIT),
    THROTTLE_LOGIN_FAILURES: '3/hour',
    COOKIE_SECURE: 'false',
    // Two servers on one database: one issuer, or each refuses the other's tokens.
    JWT_ISSUER: 'http://gatehouse.test',
  }

  beforeAll(async () => {
    lean = await startTestServer({ ...env, HTTP_ADAPTER: 'lean' }, { clock })
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      PASSWORD_HASH_COST: '4',
      SECRET_KEY: TEST_SECRET_KEY,
      ...env,
      HTTP_ADAPTER: 'stock',
    })
    stock = await startApp({ config, db: lean.testDb.db, clock })
    member = await lean.createUser({ username: 'lean_member', groups: ['Staffers'] })
    const login = await send(lean.url, {
      method: 'POST',
      path: '/trpc/auth.login',
      headers: json,
      body: JSON.stringify({ username: member.username, password: member.password }),
    })
    access = (JSON.parse(login.text) as { result: { data: { access: string } } }).result.data.access
  })

  afterAll(async () => {
    await stock?.close()
    await lean?.close()
  })

  async function both(raw: Raw, opts: { maskBody?: (text: string) => string } = {}) {
    const a = await send(lean.url, raw)
    const b = await send(stock.url, raw)
    expect(meaning(a, opts)).toEqual(meaning(b, opts))
    return a
  }

  // The last column: whether the lean layer answers itself; the others it hands to the stock adapter (or,
  // for a declared oversized body, server.ts refuses first), which this suite then compares with itself.
  const corpus: [string, () => Raw, number, boolean?][] = [
    ['a public query', () => ({ path: '/trpc/auth.catalogue' }), 200],
    [
      'a protected query with a JWT',
      () => ({ path: '/trpc/content.protected', headers: { authorization: `Bearer ${access}` } }),
      200,
    ],
    ['a query with input', () => ({ path: `/trpc/auth.catalogue?input=${enc({})}` }), 200],
    ['no credentials (401 with WWW-Authenticate)', () => ({ path: '/trpc/content.protected' }), 401],
    ['a bad bearer token', () => ({ path: '/trpc/content.protected', headers: { authorization: 'Bearer nope' } }), 401],
    ['a bad API token', () => ({ path: '/trpc/auth.me', headers: { authorization: 'Token nope' } }), 401],
    [
      'a role check refused (403)',
      () => ({ path: '/trpc/content.hr', headers: { authorization: `Bearer ${access}` } }),
      403,
    ],
    ['an unknown procedure', () => ({ path: '/trpc/nothing.here' }), 404],
    ['a path named like an Object property', () => ({ path: '/trpc/constructor' }), 404],
    ['a path named __proto__', () => ({ path: '/trpc/__proto__' }), 404],
    ['a query by POST', () => ({ method: 'POST', path: '/trpc/auth.catalogue', headers: json, body: '{}' }), 405],
    ['a mutation by GET', () => ({ path: `/trpc/auth.login?input=${enc({ username: 'x', password: 'y' })}` }), 405],
    ['invalid input', () => ({ method: 'POST', path: '/trpc/auth.login', headers: json, body: '{"username":1}' }), 400],
    [
      'no body for a mutation that needs input',
      () => ({ method: 'POST', path: '/trpc/auth.login', headers: json }),
      400,
    ],
    [
      'malformed JSON in a body',
      () => ({ method: 'POST', path: '/trpc/auth.login', headers: json, body: '{"username":' }),
      400,
    ],
    ['malformed JSON in ?input=', () => ({ path: '/trpc/articles.get?input=%7Bnope' }), 400],
    ['malformed ?input= a procedure never reads', () => ({ path: '/trpc/auth.catalogue?input=%7Bnope' }), 200],
    ['a query with invalid input', () => ({ path: `/trpc/articles.get?input=${enc({ id: 'x', extra: 1 })}` }), 400],
    [
      'a query for something that does not exist',
      () => ({ path: `/trpc/articles.get?input=${enc({ id: 999_999 })}` }),
      404,
    ],
    [
      'a JSON content type with parameters',
      () => ({
        method: 'POST',
        path: '/trpc/auth.login',
        headers: { 'content-type': 'Application/JSON; charset=utf-8' },
        body: '{}',
      }),
      400,
    ],
    [
      'a text/plain mutation (CSRF-simple request)',
      () => ({
        method: 'POST',
        path: '/trpc/auth.login',
        headers: { 'content-type': 'text/plain' },
        body: '{}',
      }),
      415,
      false,
    ],
    ['a mutation without a content type', () => ({ method: 'POST', path: '/trpc/auth.login', body: '{}' }), 415, false],
    [
      'a declared body over MAX_BODY_BYTES',
      () => ({
        method: 'POST',
        path: '/trpc/auth.login',
        headers: json,
        body: JSON.stringify({ username: 'x'.repeat(LIMIT), password: 'y' }),
      }),
      413,
      false,
    ],
    [
      'a chunked body over MAX_BODY_BYTES',
      () => ({
        method: 'POST',
        path: '/trpc/auth.login',
        headers: json,
        chunked: true,
        body: JSON.stringify({ username: 'x'.repeat(LIMIT), password: 'y' }),
      }),
      413,
    ],
    ['HEAD', () => ({ method: 'HEAD', path: '/trpc/auth.catalogue' }), 204, false],
    [
      'a batch of queries: success, 401, 404 (207)',
      () => ({
        path: `/trpc/auth.catalogue,content.protected,nothing.here?batch=1&input=${enc({})}`,
      }),
      207,
    ],
    [
      'a batch of queries, all fine',
      () => ({
        path: `/trpc/auth.catalogue,content.protected?batch=1&input=${enc({ 0: {} })}`,
        headers: { authorization: `Bearer ${access}` },
      }),
      200,
    ],
    [
      'a batch whose input is not an object',
      () => ({ path: `/trpc/articles.get,articles.get?batch=1&input=${enc([1])}` }),
      400,
    ],
    ['a batch with a malformed input', () => ({ path: '/trpc/articles.get,auth.catalogue?batch=1&input=%7B' }), 207],
    ['a path with a bad escape', () => ({ path: '/trpc/auth.catalogue%2' }), 400, false],
    ['a PUT', () => ({ method: 'PUT', path: '/trpc/auth.login', headers: json, body: '{}' }), 405, false],
    [
      'a streaming batch',
      () => ({ path: '/trpc/auth.catalogue?batch=1', headers: { 'trpc-accept': 'application/jsonl' } }),
      200,
      false,
    ],
    [
      'a batch of 100 calls, the most one request may carry',
      () => ({ path: `/trpc/${Array(100).fill('auth.catalogue').join(',')}?batch=1` }),
      200,
    ],
    [
      // one request must not buy the work of a thousand: each call is authorised and throttled alone
      'a batch of 101 calls',
      () => ({ path: `/trpc/${Array(101).fill('auth.catalogue').join(',')}?batch=1` }),
      400,
      false,
    ],
    [
      'a batch mixing queries and mutations',
      () => ({
        path: '/trpc/auth.catalogue,auth.login?batch=1',
      }),
      400,
      false,
    ],
    [
      'a batch of mutations with one bad input',
      () => ({
        method: 'POST',
        path: '/trpc/auth.login,auth.login?batch=1',
        headers: json,
        body: JSON.stringify({ 0: { username: 1 }, 1: {} }),
      }),
      400,
    ],
  ]

  for (const [name, raw, status, lean = true] of corpus) {
    it(name, async () => {
      const answer = await both(raw())
      expect(answer.status).toBe(status)
      // The stock adapter streams every body (chunked); the lean layer sends one with its length.
      if (lean)
        expect([answer.headers['transfer-encoding'], answer.headers['content-length']]).toEqual([
          undefined,
          String(answer.text.length),
        ])
    })
  }

  it('a cookie login: the same Set-Cookie lines, apart from the values', async () => {
    const raw = {
      method: 'POST',
      path: '/trpc/auth.session.login',
      headers: json,
      body: JSON.stringify({ username: member.username, password: member.password }),
    }
    const answer = await both(raw, {
      maskBody: (text) => text.replace(/"(csrfToken|sessionid)":"[^"]*"/g, '"$1":"<value>"'),
    })
    expect(answer.status).toBe(200)
    expect(cookieShapes(answer.headers).map((line) => line.split('=', 1)[0])).toContain('sessionid')
  })

  it('a batch with a throttled login: 429 with Retry-After beside a 400 (207)', async () => {
    const wrong = JSON.stringify({ username: 'lean_victim', password: 'wrong' })
    let status = 0
    for (let i = 0; i < 5 && status !== 429; i += 1) {
      status = (await send(lean.url, { method: 'POST', path: '/trpc/auth.login', headers: json, body: wrong })).status
    }
    expect(status).toBe(429)
    const answer = await both({
      method: 'POST',
      path: '/trpc/auth.register,auth.login?batch=1',
      headers: json,
      body: JSON.stringify({ 0: {}, 1: { username: 'lean_victim', password: 'wrong' } }),
    })
    expect(answer.status).toBe(207)
    expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/)
  })
})
