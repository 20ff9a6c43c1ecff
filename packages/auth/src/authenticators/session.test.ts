import { describe, expect, it } from 'vitest'

import type { VerifiedSession } from '../sessions/service.js'
import type { AuthUser } from '../users/user.js'
import type { AuthRequest, ResponseCookie } from './authenticator.js'
import { AuthError } from '../errors.js'
import { authenticateRequest, AuthenticatorFailure, hasAnyCredential } from './authenticator.js'
import { bearerAuthenticator } from './bearer.js'
import { cookieAuthenticator } from './cookie.js'
import { sessionAuthenticator } from './session.js'

const alice: AuthUser = {
  id: 7,
  username: 'alice',
  email: '',
  isActive: true,
  isStaff: false,
  isSuperuser: false,
  groups: [],
  dateJoined: new Date(0),
}
const GOOD = `${'1'.repeat(32)}.${'2'.repeat(64)}`
const CSRF = 'c'.repeat(64)

let touched = 0
let stale = false
const session = sessionAuthenticator({
  verify: (key): Promise<VerifiedSession> => {
    if (key === 'inactive') return Promise.reject(new AuthError('USER_INACTIVE'))
    if (key !== GOOD) return Promise.reject(new AuthError('SESSION_INVALID'))
    return Promise.resolve({
      user: alice,
      id: '1'.repeat(32),
      touch: () => {
        touched += 1
        return Promise.resolve(stale)
      },
    })
  },
  ageSeconds: 1_209_600,
  trustedOrigins: [],
})
const cookie = cookieAuthenticator({
  verify: (token) => (token === 'good.jwt' ? Promise.resolve(alice) : Promise.reject(new AuthError('TOKEN_INVALID'))),
  trustedOrigins: [],
})
const bearer = bearerAuthenticator({ verify: () => Promise.resolve({ ...alice, id: 99 }) })

function request(over: { method?: string; cookies?: Record<string, string>; headers?: Record<string, string> }) {
  const set: ResponseCookie[] = []
  const req: AuthRequest = {
    method: over.method ?? 'GET',
    secure: false,
    cookies: over.cookies,
    authorization: over.headers?.['authorization'],
    headers: { host: 'api.test', ...over.headers },
    response: { setCookie: (c) => void set.push(c) },
  }
  return { req, set }
}

const csrfHeaders = { origin: 'http://api.test', 'x-csrftoken': CSRF }

async function errorOf(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  const inner = error instanceof AuthenticatorFailure ? error.error : error
  if (!(inner instanceof AuthError)) throw new Error(`expected an AuthError, got ${String(inner)}`)
  return inner
}

describe('sessionAuthenticator', () => {
  it('is not asked without a sessionid cookie, an empty one included', async () => {
    const absent: (Record<string, string> | undefined)[] = [undefined, {}, { sessionid: '' }, { other: GOOD }]
    for (const cookies of absent) {
      const { req, set } = request({ cookies })
      expect(session.hasCredential?.(req)).toBe(false)
      await expect(session.authenticate(req)).resolves.toBeNull()
      expect(set).toEqual([])
    }
  })

  it('answers a live session with its user, touches it, and re-sends the cookie only when it slid', async () => {
    touched = 0
    stale = false
    const quiet = request({ cookies: { sessionid: GOOD, csrftoken: CSRF } })
    expect(session.hasCredential?.(quiet.req)).toBe(true)
    await expect(session.authenticate(quiet.req)).resolves.toEqual(alice)
    expect(quiet.set).toEqual([])
    stale = true
    const slid = request({ cookies: { sessionid: GOOD, csrftoken: CSRF } })
    await session.authenticate(slid.req)
    expect(slid.set).toEqual([
      { name: 'sessionid', value: GOOD, maxAge: 1_209_600, path: '/', httpOnly: true, sameSite: 'Lax' },
    ])
    expect(touched).toBe(2)
  })

  it('clears a dead cookie with its 401, and never falls through to a later scheme', async () => {
    const anyone = { scheme: 'anyone', authenticate: () => Promise.resolve(alice) }
    const { req, set } = request({ cookies: { sessionid: 'forged' } })
    expect((await errorOf(authenticateRequest([session, anyone], req))).code).toBe('SESSION_INVALID')
    expect(set).toEqual([{ name: 'sessionid', value: '', maxAge: 0, path: '/', httpOnly: true, sameSite: 'Lax' }])
    // An inactive user's session is not dead: the cookie stays.
    const inactive = request({ cookies: { sessionid: 'inactive' } })
    expect((await errorOf(session.authenticate(inactive.req))).code).toBe('USER_INACTIVE')
    expect(inactive.set).toEqual([])
  })

  it('refuses an unsafe request that fails CSRF before touching the session', async () => {
    touched = 0
    const noHeader = request({
      method: 'POST',
      cookies: { sessionid: GOOD, csrftoken: CSRF },
      headers: { origin: 'http://api.test' },
    })
    expect((await errorOf(session.authenticate(noHeader.req))).message).toBe('CSRF Failed: CSRF token missing.')
    const noCookie = request({ method: 'POST', cookies: { sessionid: GOOD }, headers: csrfHeaders })
    expect((await errorOf(session.authenticate(noCookie.req))).message).toBe('CSRF Failed: CSRF cookie not set.')
    // The refusal hands out a token so that the client can retry.
    expect(noCookie.set.map((c) => c.name)).toEqual(['csrftoken'])
    expect(touched).toBe(0)
    const ok = request({ method: 'POST', cookies: { sessionid: GOOD, csrftoken: CSRF }, headers: csrfHeaders })
    await expect(session.authenticate(ok.req)).resolves.toEqual(alice)
    expect(touched).toBe(1)
  })
})

describe('cookieAuthenticator', () => {
  it('reads the access cookie only when no Authorization header is sent', async () => {
    const plain = request({ cookies: { access: 'good.jwt', csrftoken: CSRF } })
    expect(cookie.hasCredential?.(plain.req)).toBe(true)
    await expect(cookie.authenticate(plain.req)).resolves.toEqual(alice)
    const withHeader = request({ cookies: { access: 'good.jwt' }, headers: { authorization: 'Basic eDp5' } })
    expect(cookie.hasCredential?.(withHeader.req)).toBe(false)
    await expect(cookie.authenticate(withHeader.req)).resolves.toBeNull()
    const both = request({ cookies: { access: 'bad.jwt' }, headers: { authorization: 'Bearer x' } })
    expect((await authenticateRequest([bearer, cookie], both.req)).user?.id).toBe(99)
    expect(hasAnyCredential([cookie], request({ cookies: { access: '' } }).req)).toBe(false)
  })

  it('refuses a bad token with its 401 and an unsafe request without CSRF with 403', async () => {
    const bad = request({ cookies: { access: 'bad.jwt' } })
    const failure = await authenticateRequest([cookie], bad.req).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(AuthenticatorFailure)
    expect((failure as AuthenticatorFailure).authenticator.scheme).toBe('cookie')
    expect((await errorOf(cookie.authenticate(bad.req))).code).toBe('TOKEN_INVALID')
    const forged = request({
      method: 'POST',
      cookies: { access: 'good.jwt', csrftoken: CSRF },
      headers: { origin: 'https://evil.test', 'x-csrftoken': CSRF },
    })
    expect((await errorOf(cookie.authenticate(forged.req))).message).toBe(
      'CSRF Failed: Origin checking failed - https://evil.test does not match any trusted origins.',
    )
  })
})
