import type { ResponseCookie } from '../authenticators/authenticator.js'

export const SESSION_COOKIE = 'sessionid'

/** `sessionid`: HttpOnly, SameSite=Lax, Path=/, Max-Age the session's age (Django's defaults). */
export function sessionCookie(key: string, maxAgeSeconds: number): ResponseCookie {
  return { name: SESSION_COOKIE, value: key, maxAge: maxAgeSeconds, path: '/', httpOnly: true, sameSite: 'Lax' }
}

/** Deletes the `sessionid` cookie (Max-Age=0), as Django's logout does. */
export function clearSessionCookie(): ResponseCookie {
  return sessionCookie('', 0)
}

/** The session key a request presents; an empty cookie (what clearing leaves in naive jars) is none. */
export function presentedSessionKey(cookies: Readonly<Record<string, string>> | undefined): string | undefined {
  const value = cookies?.[SESSION_COOKIE]
  return value ? value : undefined
}
