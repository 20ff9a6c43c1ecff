/**
 * Django-style sessions over raw HTTP (auth.session.*): a browser signed in with its cookies, and
 * the answers the session tests compare against.
 */
import { expect } from 'vitest'

import type { TestServer } from '../../src/testing.js'
import { CookieClient } from './cookies.js'
import { errorBody } from './http.js'
import { sharedServer } from './server.js'

/** An origin CSRF trusts besides the server's own (CSRF_TRUSTED_ORIGINS). */
export const TRUSTED = 'https://app.example.com'
/** How long a session lives unused on the session tests' server (SESSION_COOKIE_AGE), in seconds. */
export const SESSION_AGE = 3600

/** The server a session test file shares: sessions of SESSION_AGE, TRUSTED trusted, the file's clock. */
export const sessionServer = (clock: () => Date) =>
  sharedServer({ SESSION_COOKIE_AGE: '1h', CSRF_TRUSTED_ORIGINS: TRUSTED }, { clock })

/** The Set-Cookie line that ends a session cookie (Django's delete_cookie). */
export const SESSION_CLEARED =
  'sessionid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax'

/** The 403 a mutation gets when it fails DRF's CSRF check, with Django's message. */
export const csrfRefused = (message: string, path: string) =>
  errorBody({ message, code: 'FORBIDDEN', httpStatus: 403, path, reason: 'CSRF_FAILED' })

/** The session's id: the part of the sessionid cookie before its signature. */
export const sessionIdOf = (client: CookieClient) => client.get('sessionid')?.split('.')[0]

/**
 * A browser signed in by auth.session.login (without an Origin, as a first visit is), as `who`
 * or a new user; `headers` go with the login (a user agent, say).
 */
export async function sessionLogin(
  server: TestServer,
  who?: { id: number; username: string; password: string },
  headers: Record<string, string> = {},
) {
  const user = who ?? (await server.createUser())
  const client = new CookieClient(server.url)
  const res = await client.mutation('auth.session.login', {
    input: { username: user.username, password: user.password },
    origin: null,
    headers,
  })
  expect(res.status).toBe(200)
  return { client, user, res }
}
