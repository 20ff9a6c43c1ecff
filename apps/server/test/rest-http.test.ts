/**
 * The REST facade against ../shared/reference/drf-wire.md, sections 1 and 7: the headers every
 * answer carries, Django's own answers (404, slash redirects, OPTIONS, HEAD), 413 and 429.
 */
import { TEST_BACKEND } from '@gatehouse/db/testing'
import { beforeAll, describe, expect, it } from 'vitest'

import { startTestServer } from '../src/testing.js'
import { bearer, expectDrfHeaders, NOT_PROVIDED, PASSWORD, restClient, token } from './helpers/rest.js'
import { sharedServer } from './helpers/server.js'

/** The server's time, as in the other REST files (some move it). */
const clock = () => new Date('2026-05-01T12:00:00Z')

describe(`${TEST_BACKEND}: REST facade, the seed's wire contract: headers and Django-level answers`, () => {
  const server = sharedServer({}, { clock })
  const { api, keyOf, pairOf } = restClient(() => server.url)
  let plain: { id: number; username: string; password: string }
  let hr: { id: number; username: string; password: string }

  beforeAll(async () => {
    plain = await server.createUser()
    hr = await server.createUser({ groups: ['HR'] })
  })

  describe('section 1: headers', () => {
    it('answers compact JSON without charset, with Allow, Vary and the security headers; no cookie on code-1', async () => {
      const res = await api('GET', '/api/token-auth/protected/', { headers: token(await keyOf(plain)) })
      expect(res.status).toBe(200)
      expectDrfHeaders(res, 'GET, HEAD, OPTIONS')
      expect(res.headers.getSetCookie()).toEqual([])
      // Compact, no trailing newline.
      expect(res.text).toBe('{"message":"Hello, I am a protected content. Only authorised users can access me!"}')
    })

    it('says Vary: Accept, Cookie on the JWT login and logout, Allow: POST, OPTIONS on every POST view', async () => {
      const login = await api('POST', '/api/login/', { json: { username: plain.username, password: plain.password } })
      expectDrfHeaders(login, 'POST, OPTIONS', 'Accept, Cookie')
      const logout = await api('POST', '/api/logout/', { json: { refresh: login.json.refresh } })
      expectDrfHeaders(logout, 'POST, OPTIONS', 'Accept, Cookie')
      for (const path of [
        '/api/token-auth/register/',
        '/api/token-auth/login/',
        '/api/register/',
        '/api/token/verify/',
      ]) {
        const res = await api('POST', path, { json: {} })
        expectDrfHeaders(res, 'POST, OPTIONS')
      }
    })
  })

  describe('section 7: Django-level answers', () => {
    it('answers an unknown path 404 in JSON (Django sends an HTML page)', async () => {
      const res = await api('GET', '/api/nope/')
      expect([res.status, res.text, res.headers.get('content-type'), res.headers.get('allow')]).toEqual([
        404,
        '{"detail":"Not found."}',
        'application/json',
        null,
      ])
    })

    it('redirects a read without its trailing slash (301) and keeps a POST’s method and body (308)', async () => {
      const read = await api('GET', '/api/protected?x=1')
      expect([read.status, read.headers.get('location'), read.text]).toEqual([301, '/api/protected/?x=1', ''])
      const post = await api('POST', '/api/login', { json: { username: plain.username, password: plain.password } })
      expect([post.status, post.headers.get('location')]).toEqual([308, '/api/login/'])
      const followed = await api('POST', '/api/login', {
        json: { username: plain.username, password: plain.password },
        redirect: 'follow',
      })
      expect(followed.status).toBe(200)
      expect(Object.keys(followed.json)).toEqual(['access', 'refresh'])
      expect((await api('GET', '/api/nope')).status).toBe(404)
    })

    it('answers OPTIONS with the view’s metadata, after the same checks as any method', async () => {
      const res = await api('OPTIONS', '/api/register/')
      expect([res.status, res.text, res.headers.get('allow')]).toEqual([
        200,
        '{"name":"Register","description":"","renders":["application/json"],"parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"]}',
        'POST, OPTIONS',
      ])
      expect((await api('OPTIONS', '/api/hr-content/')).status).toBe(401)
      const hrAccess = (await pairOf(hr)).access
      expect((await api('OPTIONS', '/api/hr-content/', { headers: bearer(hrAccess) })).json.name).toBe('HR Content')
    })

    it('renders JSON whatever Accept asks for (no Browsable API), and sets no cookie for it', async () => {
      const res = await api('GET', '/api/protected/', { headers: { accept: 'text/html' } })
      expect([res.status, res.text, res.headers.get('content-type')]).toEqual([401, NOT_PROVIDED, 'application/json'])
      expect(res.headers.getSetCookie()).toEqual([])
    })

    it('answers HEAD like GET, without a body', async () => {
      const res = await api('HEAD', '/api/protected/', { headers: bearer((await pairOf(plain)).access) })
      expect([res.status, res.text, res.headers.get('content-type')]).toEqual([200, '', 'application/json'])
      expect(res.headers.get('content-length')).toBe(String('{"message":"This is a protected view"}'.length))
    })
  })

  describe('413', () => {
    it('refuses a body over MAX_BODY_BYTES, declared or streamed', async () => {
      const huge = JSON.stringify({ username: 'x', password: 'y'.repeat(2 * 1024 * 1024) })
      const declared = await api('POST', '/api/register/', {
        body: huge,
        headers: { 'content-type': 'application/json' },
      })
      expect([declared.status, declared.text]).toEqual([413, '{"detail":"Request body is larger than 1048576 bytes."}'])
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(huge))
          controller.close()
        },
      })
      const streamed = await fetch(`${server.url}/api/register/`, {
        method: 'POST',
        body: stream,
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
      } as RequestInit)
      expect([streamed.status, await streamed.text()]).toEqual([
        413,
        '{"detail":"Request body is larger than 1048576 bytes."}',
      ])
    })
  })
})

describe(`${TEST_BACKEND}: REST facade, throttling`, () => {
  it('answers 429 with Retry-After and DRF’s message', async () => {
    await using server = await startTestServer({ THROTTLE_RATES: 'register=1/h' })
    const { api } = restClient(() => server.url)
    expect((await api('POST', '/api/register/', { json: { username: 'first', password: PASSWORD } })).status).toBe(201)
    const res = await api('POST', '/api/register/', { json: { username: 'second', password: PASSWORD } })
    expect(res.status).toBe(429)
    const wait = Number(res.headers.get('retry-after'))
    expect(wait).toBeGreaterThan(0)
    expect(res.text).toBe(
      `{"detail":"Request was throttled. Expected available in ${wait} second${wait === 1 ? '' : 's'}."}`,
    )
  })
})
