export {
  authenticateRequest,
  AuthenticatorFailure,
  challengeOf,
  hasAnyCredential,
  type AuthenticationResult,
  type Authenticator,
  type AuthRequest,
  type AuthResponse,
  type ResponseCookie,
} from './authenticator.js'
export { bearerAuthenticator, type BearerAuthenticatorOptions } from './bearer.js'
export {
  ACCESS_COOKIE,
  COOKIE_CHALLENGE,
  cookieAuthenticator,
  REFRESH_COOKIE,
  type CookieAuthenticatorOptions,
} from './cookie.js'
export { SESSION_CHALLENGE, sessionAuthenticator, type SessionAuthenticatorOptions } from './session.js'
export { tokenAuthenticator, type TokenAuthenticatorOptions } from './token.js'
