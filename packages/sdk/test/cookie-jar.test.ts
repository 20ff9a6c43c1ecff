/**
 * The cookie jar cookie mode keeps outside browsers: RFC 6265 storage and matching, on an
 * injected clock.
 */
import { describe, expect, it } from 'vitest'

import { readCookie } from '../src/cookies/cookie-jar.js'
import { memoryCookieJar } from '../src/index.js'

const BASE = 'http://api.example.com/trpc'
const START = new Date('2026-05-01T12:00:00Z')

function jarAt() {
  let now = START
  const jar = memoryCookieJar({ clock: () => now })
  return {
    jar,
    advance: (seconds: number) => {
      now = new Date(now.getTime() + seconds * 1000)
    },
  }
}

describe('memoryCookieJar', () => {
  it('sends a cookie to the paths under its Path only, the longest path first', () => {
    const { jar } = jarAt()
    jar.store(`${BASE}/auth.login`, [
      'access=A; Max-Age=300; Path=/; HttpOnly; SameSite=Lax',
      'refresh=R; Max-Age=604800; Path=/trpc/auth.refresh; HttpOnly; SameSite=Lax',
      'refresh=R; Max-Age=604800; Path=/trpc/auth.logout; HttpOnly; SameSite=Lax',
      'csrftoken=C; Max-Age=31449600; Path=/; SameSite=Lax',
    ])
    expect(jar.cookieHeader(`${BASE}/auth.me`)).toBe('access=A; csrftoken=C')
    expect(jar.cookieHeader(`${BASE}/auth.refresh`)).toBe('refresh=R; access=A; csrftoken=C')
    expect(jar.cookieHeader(`${BASE}/auth.logout?x=1`)).toBe('refresh=R; access=A; csrftoken=C')
    // A path matches at `/` boundaries only, and a batch's URL is not the procedure's.
    expect(jar.cookieHeader(`${BASE}/auth.refreshed`)).toBe('access=A; csrftoken=C')
    expect(jar.cookieHeader(`${BASE}/auth.refresh,auth.me?batch=1`)).toBe('access=A; csrftoken=C')
    expect(jar.get('refresh', `${BASE}/auth.refresh`)).toBe('R')
    expect(jar.get('refresh', `${BASE}/auth.me`)).toBeUndefined()
  })

  it('keeps one cookie per name and path, replaced in place, deleted by Max-Age=0 or a past Expires', () => {
    const { jar } = jarAt()
    jar.store(`${BASE}/auth.login`, ['a=1; Path=/', 'b=2; Path=/', 'a=3; Path=/x'])
    jar.store(`${BASE}/auth.login`, ['a=4; Path=/'])
    expect(jar.cookieHeader('http://api.example.com/x')).toBe('a=3; a=4; b=2')
    jar.store(`${BASE}/auth.logout`, ['a=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/'])
    jar.store(`${BASE}/auth.logout`, ['b=2; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/'])
    expect(jar.cookieHeader('http://api.example.com/x')).toBe('a=3')
    jar.clear()
    expect(jar.cookieHeader('http://api.example.com/x')).toBeUndefined()
  })

  it('expires cookies by the clock: Max-Age over Expires, none at all kept for the jar’s life', () => {
    const { jar, advance } = jarAt()
    jar.store(`${BASE}/auth.login`, [
      'short=1; Max-Age=60; Expires=Fri, 01 Jan 2100 00:00:00 GMT; Path=/',
      'dated=2; Expires=Fri, 01 May 2026 12:30:00 GMT; Path=/',
      'session=3; Path=/',
    ])
    expect(jar.cookieHeader(BASE)).toBe('short=1; dated=2; session=3')
    advance(59)
    expect(jar.cookieHeader(BASE)).toBe('short=1; dated=2; session=3')
    advance(1)
    expect(jar.cookieHeader(BASE)).toBe('dated=2; session=3')
    advance(30 * 60)
    expect(jar.cookieHeader(BASE)).toBe('session=3')
  })

  it('defaults the path to the request’s directory, and keeps cookies to their host', () => {
    const { jar } = jarAt()
    jar.store('http://api.example.com/trpc/auth.login', ['dir=1', 'bad=2; Path=relative'])
    expect(jar.cookieHeader('http://api.example.com/trpc/auth.me')).toBe('dir=1; bad=2')
    expect(jar.cookieHeader('http://api.example.com/other')).toBeUndefined()
    expect(jar.cookieHeader('http://other.example.com/trpc/auth.me')).toBeUndefined()
  })

  it('sends Secure cookies over HTTPS or to a loopback host only', () => {
    const { jar } = jarAt()
    for (const origin of ['https://api.example.com', 'http://api.example.com', 'http://127.0.0.1:3000']) {
      jar.store(`${origin}/trpc/auth.login`, ['s=1; Path=/; Secure'])
    }
    expect(jar.cookieHeader('https://api.example.com/trpc')).toBe('s=1')
    expect(jar.cookieHeader('http://api.example.com/trpc')).toBeUndefined()
    expect(jar.cookieHeader('http://127.0.0.1:3000/trpc')).toBe('s=1')
  })

  it('ignores lines that name no cookie', () => {
    const { jar } = jarAt()
    jar.store(BASE, ['', 'novalue', '=nameless; Path=/', 'ok=1; Path=/; Max-Age=soon'])
    expect(jar.cookieHeader(BASE)).toBe('ok=1')
  })
})

describe('readCookie', () => {
  it('reads one cookie from a document.cookie string', () => {
    expect(readCookie('theme=dark; csrftoken=abc; x=y=z', 'csrftoken')).toBe('abc')
    expect(readCookie('x=y=z', 'x')).toBe('y=z')
    expect(readCookie('xcsrftoken=1', 'csrftoken')).toBeUndefined()
    expect(readCookie('', 'csrftoken')).toBeUndefined()
  })
})
