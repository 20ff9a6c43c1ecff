export {
  authenticateRequest,
  AuthenticatorFailure,
  challengeOf,
  hasAnyCredential,
  type AuthenticationResult,
  type Authenticator,
  type AuthRequest,
} from './authenticator.js'
export { bearerAuthenticator, type BearerAuthenticatorOptions } from './bearer.js'
export { tokenAuthenticator, type TokenAuthenticatorOptions } from './token.js'
