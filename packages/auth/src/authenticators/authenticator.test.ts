import { describe, expect, it } from 'vitest'

import type { AuthUser } from '../users/user.js'
import type { Authenticator, AuthRequest } from './authenticator.js'
import { AuthError } from '../errors.js'
import { authenticateRequest, AuthenticatorFailure, hasAnyCredential } from './authenticator.js'
import { bearerAuthenticator } from './bearer.js'
import { tokenAuthenticator } from './token.js'

const user = (id: number): AuthUser => ({
  id,
  username: `u${id}`,
  email: '',
  isActive: true,
  isStaff: false,
  isSuperuser: false,
  groups: [],
  dateJoined: new Date(0),
})

let verified: string[] = []
const bearer = bearerAuthenticator({
  verify: (token) => {
    verified.push(`bearer:${token}`)
    return token === 'good' ? Promise.resolve(user(1)) : Promise.reject(new AuthError('TOKEN_INVALID'))
  },
})
const token = tokenAuthenticator({
  verify: (key) => {
    verified.push(`token:${key}`)
    return key === 'good' ? Promise.resolve(user(2)) : Promise.reject(new AuthError('API_TOKEN_INVALID'))
  },
})
const request = (authorization?: string, headers: Record<string, string> = {}): AuthRequest => ({
  authorization,
  headers: { ...headers, ...(authorization === undefined ? {} : { authorization }) },
})

async function failure(promise: Promise<unknown>): Promise<AuthenticatorFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof AuthenticatorFailure))
    throw new Error(`expected an AuthenticatorFailure, got ${String(error)}`)
  return error
}

describe('authenticateRequest', () => {
  it('is anonymous, with no verification at all, when no scheme sees a credential', async () => {
    verified = []
    for (const authorization of [undefined, '', '   ', 'Basic dXNlcjpwYXNz']) {
      await expect(authenticateRequest([bearer, token], request(authorization))).resolves.toEqual({
        user: null,
        authenticator: null,
      })
    }
    expect(verified).toEqual([])
  })

  it('lets the scheme that matches decide, in either order', async () => {
    for (const order of [
      [bearer, token],
      [token, bearer],
    ]) {
      expect((await authenticateRequest(order, request('Bearer good'))).user?.id).toBe(1)
      expect((await authenticateRequest(order, request('token good'))).user?.id).toBe(2)
    }
  })

  it('never lets a bad credential fall through to a later scheme or to anonymous', async () => {
    const fallback: Authenticator = { scheme: 'anyone', authenticate: () => Promise.resolve(user(99)) }
    for (const [authorization, code, scheme] of [
      ['Token nope', 'API_TOKEN_INVALID', 'token'],
      ['Token', 'API_TOKEN_HEADER_EMPTY', 'token'],
      ['Token a b', 'API_TOKEN_HEADER_SPACES', 'token'],
      ['Bearer nope', 'TOKEN_INVALID', 'bearer'],
      ['Bearer', 'AUTH_HEADER_INVALID', 'bearer'],
    ] as const) {
      const failed = await failure(authenticateRequest([bearer, token, fallback], request(authorization)))
      expect(failed.error).toMatchObject({ code })
      expect(failed.authenticator.scheme).toBe(scheme)
    }
  })

  it('stops at the first scheme that throws, even when a later one would accept', async () => {
    const apiKey: Authenticator = {
      scheme: 'api-key',
      authenticate: (r) =>
        r.headers['x-api-key'] === undefined
          ? Promise.resolve(null)
          : Promise.reject(new AuthError('API_TOKEN_INVALID')),
    }
    const both = request('Bearer good', { 'x-api-key': 'bad' })
    expect((await authenticateRequest([bearer, apiKey], both)).user?.id).toBe(1)
    expect((await failure(authenticateRequest([apiKey, bearer], both))).authenticator.scheme).toBe('api-key')
  })

  it('hasAnyCredential sees only the configured schemes, and assumes a credential for a scheme that cannot tell', () => {
    expect(hasAnyCredential([bearer, token], request())).toBe(false)
    expect(hasAnyCredential([bearer, token], request('Basic x'))).toBe(false)
    expect(hasAnyCredential([bearer], request('Token x'))).toBe(false)
    expect(hasAnyCredential([bearer, token], request('Token x'))).toBe(true)
    expect(hasAnyCredential([bearer, token], request('BEARER x'))).toBe(true)
    expect(hasAnyCredential([bearer, { scheme: 'opaque', authenticate: () => Promise.resolve(null) }], request())).toBe(
      true,
    )
  })
})
