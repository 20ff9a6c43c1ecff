export { AuthError, AUTH_ERROR_MESSAGES, isAuthError, type AuthErrorCode, type AuthErrorOptions } from './errors.js'
export { systemClock, type Clock } from './clock.js'
export { createAuditRecorder, type AuditInput, type AuditRecorder, type RequestMeta } from './audit/audit.js'
export { AUDIT_EVENTS, type AuditEventName } from './audit/events.js'
export { listAuditEvents, type AuditEntry, type ListAuditEventsOptions } from './audit/list.js'
export {
  ImportFileError,
  parseDjangoDump,
  type DjangoDump,
  type DumpGroup,
  type DumpPermission,
  type DumpUser,
} from './import/django.js'
export { describeImport, importDjangoUsers, type ImportReport } from './import/import.js'
export { parseDurationSeconds } from './duration.js'
export { Pruner, pruneExpired, type PruneCounts, type PrunerOptions } from './maintenance/prune.js'
export { KeyRing, JWT_ALGORITHMS, type JwtAlgorithm, type KeyRingOptions } from './jwt/keys.js'
export { sealSigningKeys, type SealCounts } from './jwt/seal-keys.js'
export {
  MIN_SECRET_KEY_LENGTH,
  SecretBox,
  SecretKeyError,
  type Opened,
  type SecretBoxOptions,
} from './crypto/secret-box.js'
export { oauthPayloadId } from './tokens/oauth-payload-id.js'
export { signToken } from './jwt/sign.js'
export { verifyToken } from './jwt/verify.js'
export type { TokenClaims, TokenType, VerifiedToken } from './jwt/claims.js'
export type { TokenPair, TokenSettings } from './tokens/settings.js'
export {
  DEFAULT_PASSWORD_VALIDATORS,
  FailureFloor,
  hashPassword,
  setPasswordHashMaxWait,
  validatePassword,
  verifyPassword,
  type PasswordValidator,
} from './password/index.js'
export {
  DEFAULT_THREADPOOL_SIZE,
  defaultHashConcurrency,
  passwordHashSlots,
  Semaphore,
  setPasswordHashConcurrency,
} from './password/limiter.js'
export { toPublicUser, type AuthUser, type OAuthTokenInfo, type PublicUser } from './users/user.js'
export {
  authenticateRequest,
  AuthenticatorFailure,
  bearerAuthenticator,
  challengeOf,
  hasAnyCredential,
  tokenAuthenticator,
  type AuthenticationResult,
  type Authenticator,
  type AuthRequest,
  type BearerAuthenticatorOptions,
  type TokenAuthenticatorOptions,
} from './authenticators/index.js'
export {
  ACCESS_COOKIE,
  COOKIE_CHALLENGE,
  cookieAuthenticator,
  REFRESH_COOKIE,
  SESSION_CHALLENGE,
  sessionAuthenticator,
  type AuthResponse,
  type CookieAuthenticatorOptions,
  type ResponseCookie,
  type SessionAuthenticatorOptions,
} from './authenticators/index.js'
export {
  checkOrigin,
  CSRF_COOKIE,
  CSRF_HEADER,
  csrfCookie,
  ensureCsrfCookie,
  enforceCsrf,
  generateCsrfToken,
  isSafeMethod,
  normalizeTrustedOrigin,
} from './csrf/csrf.js'
export { clearSessionCookie, presentedSessionKey, SESSION_COOKIE, sessionCookie } from './sessions/cookie.js'
export { DEFAULT_SESSION_AGE_SECONDS, type SessionOptions } from './sessions/options.js'
export type { SessionInfo, VerifiedSession } from './sessions/service.js'
export { generateApiToken, hashApiTokenSecret, parseApiToken } from './tokens/api-token.js'
export { checkUsername, USERNAME_MAX_LENGTH } from './users/username.js'
export { createAuthService, type AuthService } from './service.js'
export type { ApiTokenInfo, CreateApiTokenInput } from './tokens/api-token-service.js'
export type { RegisterInput } from './users/service.js'
export type { LoginOptions, ServiceCore } from './core.js'
export type { AuthServiceOptions } from './options.js'
export {
  actionOf,
  AllowAny,
  and,
  definePermission,
  firstObjectRefusal,
  firstRefusal,
  HasGroup,
  IsAdminUser,
  IsAuthenticated,
  IsAuthenticatedOrReadOnly,
  IsOwner,
  IsOwnerOrReadOnly,
  ModelPermissions,
  ModelPermissionsOrAnonReadOnly,
  not,
  ObjectPermissions,
  or,
  type AccessLookup,
  type HasGroupOptions,
  type Permission,
  type PermissionContext,
} from './permissions/permission.js'
export {
  ACTIONS,
  CATALOGUE,
  RESOURCES,
  can,
  codename,
  type AccessObject,
  type Action,
  type Resource,
  type ResourceRules,
  type Subject,
} from './permissions/decide.js'
export { ANONYMOUS_SUBJECT, createAccessLookup, loadSubject } from './permissions/access.js'
export {
  actorOf,
  authorizeAdminChange,
  DELEGATION_RULE_NAME,
  type Actor,
  type ChangeTarget,
  type Gift,
  type TargetUser,
} from './permissions/delegation.js'
export {
  HasScope,
  IsAuthenticatedOrTokenHasScope,
  IsOAuthToken,
  OAuthScopes,
  READ_SCOPE,
  TokenHasReadWriteScope,
  TokenHasScope,
  tokenScopes,
  WRITE_SCOPE,
} from './permissions/scope.js'
export {
  isOAuthAccessToken,
  jwtTypeOf,
  OAUTH_TOKEN_TYPE,
  oauthAuthenticator,
  verifyOAuthToken,
  type OAuthAuthenticatorOptions,
  type OAuthResourceSettings,
  type VerifiedOAuthToken,
} from './authenticators/oauth.js'
export { oauthPrincipalLoader } from './tokens/oauth-principal.js'
export * as admin from './admin.js'
export type { ActingAs, AdminUser, GrantChange, GrantTarget } from './admin.js'
export {
  HitBatch,
  hitCounter,
  parseRate,
  peekCounter,
  ThrottleState,
  throttleAddress,
  throttledError,
  DEFAULT_LOGIN_DELAY,
  type LoginDelay,
  type CounterOptions,
  type HitOptions,
  type Rate,
  type ThrottleResult,
  type ThrottleStateOptions,
} from './throttle/index.js'
