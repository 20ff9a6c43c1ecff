export { createGatehouseClient } from './client.js'
export type {
  GatehouseAuth,
  GatehouseClient,
  GatehouseClientOptions,
  GatehouseFetch,
  GatehouseHeaders,
  GatehouseMode,
  GatehouseSession,
  GatehouseSliding,
} from './types.js'
export { createServiceClient, OAuthTokenError } from './service-client.js'
export type { ServiceClient, ServiceClientOptions } from './service-client.js'
export { createPkceFlow } from './pkce.js'
export type { PkceFlow, PkceFlowOptions, PkceStorage, PkceTokens } from './pkce.js'
export { memoryCookieJar } from './cookies/cookie-jar.js'
export type { CookieJar, MemoryCookieJarOptions } from './cookies/cookie-jar.js'
export { isDenied, isGatehouseError } from './errors.js'
export type { DeniedError, DenialReason, GatehouseError } from './errors.js'
export type { AuthErrorCode, GatehouseErrorData, GatehouseErrorReason, GatehouseErrorShape } from './error-shape.js'
export { ACTIONS, ANONYMOUS_SUBJECT, CATALOGUE, can, toSubject } from './permissions.js'
export type { AccessObject, Action, Resource, Subject } from './permissions.js'
export type { GatehouseInputs, GatehouseOutputs, GatehouseRouter } from './router.js'
export { memoryStorage } from './storage/memory.js'
export { webStorage } from './storage/web-storage.js'
export type { WebStorageLike } from './storage/web-storage.js'
export type { TokenStorage, Tokens } from './storage/token-storage.js'
