import { describe, expect, it } from 'vitest'

import type { AuthRequest, ResponseCookie } from '../authenticators/authenticator.js'
import { AuthError } from '../errors.js'
import {
  checkOrigin,
  enforceCsrf,
  ensureCsrfCookie,
  generateCsrfToken,
  isSafeMethod,
  normalizeTrustedOrigin,
} from './csrf.js'

const TOKEN = 'a'.repeat(64)

function request(over: Partial<AuthRequest> & { headers?: Record<string, string> } = {}): AuthRequest {
  return {
    method: 'POST',
    secure: false,
    cookies: { csrftoken: TOKEN },
    ...over,
    headers: { host: 'api.example.com', origin: 'http://api.example.com', 'x-csrftoken': TOKEN, ...over.headers },
  }
}

function refusal(run: () => void): string {
  try {
    run()
  } catch (error) {
    if (error instanceof AuthError && error.code === 'CSRF_FAILED') return error.message
    throw error
  }
  return 'accepted'
}

describe('normalizeTrustedOrigin', () => {
  it('accepts origins as Django lists them, normalised as browsers send them', () => {
    expect(normalizeTrustedOrigin('https://app.example.com')).toBe('https://app.example.com')
    expect(normalizeTrustedOrigin(' HTTPS://App.Example.com:443/ ')).toBe('https://app.example.com')
    expect(normalizeTrustedOrigin('http://localhost:5173')).toBe('http://localhost:5173')
    expect(normalizeTrustedOrigin('https://*.example.com')).toBe('https://*.example.com')
    expect(normalizeTrustedOrigin('https://*.example.com:8443')).toBe('https://*.example.com:8443')
  })

  it('refuses what is not an origin', () => {
    for (const bad of [
      'app.example.com',
      'ftp://x.com',
      'https://x.com/path',
      'https://u@x.com',
      'https://*',
      'https://*.*.x.com',
      'null',
      '',
      'https://x.com?q',
    ]) {
      expect(normalizeTrustedOrigin(bad)).toBeNull()
    }
  })
})

describe('enforceCsrf', () => {
  it('leaves safe methods and in-process calls alone', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'get', undefined]) {
      expect(isSafeMethod(method)).toBe(true)
      expect(refusal(() => enforceCsrf(request({ method, cookies: {}, headers: {} }), []))).toBe('accepted')
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'TRACE']) expect(isSafeMethod(method)).toBe(false)
  })

  it('accepts the request’s own origin, on its own scheme, with the matching token', () => {
    expect(refusal(() => enforceCsrf(request(), []))).toBe('accepted')
    const tls = request({ secure: true, headers: { origin: 'https://api.example.com' } })
    expect(refusal(() => enforceCsrf(tls, []))).toBe('accepted')
    // The scheme is part of the origin: an http page may not post to the https API, nor the reverse.
    expect(refusal(() => enforceCsrf(request({ secure: true }), []))).toBe(
      'CSRF Failed: Origin checking failed - http://api.example.com does not match any trusted origins.',
    )
  })

  it('checks the origin first, then the cookie, then the header, with Django’s messages', () => {
    const cases: [AuthRequest, string][] = [
      [
        request({ headers: { origin: 'https://evil.example' } }),
        'CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins.',
      ],
      [
        request({ headers: { origin: 'null' } }),
        'CSRF Failed: Origin checking failed - null does not match any trusted origins.',
      ],
      [
        { ...request(), headers: { host: 'api.example.com', 'x-csrftoken': TOKEN } },
        'CSRF Failed: Origin checking failed - no Origin.',
      ],
      [request({ cookies: {} }), 'CSRF Failed: CSRF cookie not set.'],
      [request({ cookies: undefined }), 'CSRF Failed: CSRF cookie not set.'],
      [request({ cookies: { csrftoken: '' } }), 'CSRF Failed: CSRF cookie not set.'],
      [
        { ...request(), headers: { host: 'api.example.com', origin: 'http://api.example.com' } },
        'CSRF Failed: CSRF token missing.',
      ],
      [request({ headers: { 'x-csrftoken': 'b'.repeat(64) } }), 'CSRF Failed: CSRF token incorrect.'],
      [request({ headers: { 'x-csrftoken': TOKEN.slice(1) } }), 'CSRF Failed: CSRF token incorrect.'],
      [request({ headers: { 'x-csrftoken': `${TOKEN}, ${TOKEN}` } }), 'CSRF Failed: CSRF token incorrect.'],
    ]
    for (const [req, message] of cases) expect(refusal(() => enforceCsrf(req, []))).toBe(message)
  })

  it('accepts trusted origins, exact or by subdomain wildcard, and nothing near them', () => {
    const trusted = ['https://app.example.com', 'https://*.example.org']
    const from = (origin: string) => refusal(() => enforceCsrf(request({ headers: { origin } }), trusted))
    expect(from('https://app.example.com')).toBe('accepted')
    expect(from('https://app.example.com:443')).toBe('accepted')
    expect(from('https://a.b.example.org')).toBe('accepted')
    for (const origin of [
      'http://app.example.com',
      'https://app.example.com:8443',
      'https://example.org',
      'https://evilexample.org',
      'https://example.org.evil.com',
    ]) {
      expect(from(origin)).toBe(`CSRF Failed: Origin checking failed - ${origin} does not match any trusted origins.`)
    }
  })

  it('has no origin of its own without a Host header', () => {
    const req = { ...request(), headers: { origin: 'http://api.example.com', 'x-csrftoken': TOKEN } }
    expect(refusal(() => enforceCsrf(req, []))).toMatch(/does not match any trusted origins/)
  })
})

describe('checkOrigin for logins', () => {
  it('lets a request without Origin through, and refuses a foreign one', () => {
    const bare = { ...request(), headers: { host: 'api.example.com' } }
    expect(refusal(() => checkOrigin(bare, [], { required: false }))).toBe('accepted')
    const foreign = request({ headers: { origin: 'https://evil.example' } })
    expect(refusal(() => checkOrigin(foreign, [], { required: false }))).toBe(
      'CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins.',
    )
  })
})

describe('tokens and the cookie', () => {
  it('are 64 random hex characters, sent again only when the request has none', () => {
    const a = generateCsrfToken()
    expect(a).toMatch(/^[0-9a-f]{64}$/)
    expect(generateCsrfToken()).not.toBe(a)
    const set: ResponseCookie[] = []
    const response = { setCookie: (cookie: ResponseCookie) => void set.push(cookie) }
    ensureCsrfCookie(request({ response }))
    expect(set).toEqual([])
    ensureCsrfCookie(request({ response, cookies: {} }))
    expect(set).toEqual([
      {
        name: 'csrftoken',
        value: expect.stringMatching(/^[0-9a-f]{64}$/),
        maxAge: 31_449_600,
        path: '/',
        sameSite: 'Lax',
      },
    ])
  })
})
