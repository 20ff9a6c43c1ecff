/**
 * Row types for every table, following Django's auth model where it has one.
 * Columns are snake_case in SQL and in these types: no CamelCasePlugin, so a query reads like
 * the SQL it runs. Code maps rows to wire objects explicitly (never passes a row through).
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string, Date | string>
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type JsonObject = ColumnType<Record<string, unknown>, string, string>

export interface UserTable {
  id: Generated<number>
  username: string
  email: Generated<string>
  first_name: Generated<string>
  last_name: Generated<string>
  /** `<algorithm>$<encoded hash>`, e.g. `bcrypt_sha256$$2b$12$…`; never leaves the server. */
  password: string
  is_active: Generated<boolean>
  is_staff: Generated<boolean>
  is_superuser: Generated<boolean>
  date_joined: CreatedAt & Generated<Date>
  last_login: Timestamp | null
  /** Stamped into access and sliding tokens; bumping it revokes every one of them at once. */
  token_epoch: Generated<number>
  /** What the user's DRF token key is derived from (with SECRET_KEY); replaced to revoke that key. */
  drf_key_nonce: Generated<string>
}

export interface GroupTable {
  id: Generated<number>
  name: string
}

export interface UserGroupTable {
  user_id: number
  group_id: number
}

export interface PermissionTable {
  id: Generated<number>
  /** `<action>_<resource>`, e.g. `change_article`, as Django names them. */
  codename: string
  resource: string
  name: string
}

export interface GroupPermissionTable {
  group_id: number
  permission_id: number
}

export interface UserPermissionTable {
  user_id: number
  permission_id: number
}

export interface OutstandingTokenTable {
  jti: string
  user_id: number
  /** Every refresh token descended from one login shares a family; reuse revokes it whole. */
  family_id: string
  token_type: string
  created_at: CreatedAt & Generated<Date>
  expires_at: Timestamp
}

export interface BlacklistedTokenTable {
  jti: string
  blacklisted_at: CreatedAt & Generated<Date>
  /** When rotation blacklisted it (service clock); null when a revocation did. */
  rotated_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/**
 * A login's refresh tokens (outstanding_tokens.family_id), recorded when first rotated or revoked.
 * Rotations lock the row and check `revoked_at`; revocations set it under the same lock.
 */
export interface TokenFamilyTable {
  id: string
  user_id: number
  /** The family's latest token's expiry: after it the row is pruned. */
  expires_at: Timestamp
  /** Reuse, logout, a password change, deactivation or "log out everywhere" ended the login. */
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_at: CreatedAt & Generated<Date>
}

export interface SigningKeyTable {
  kid: string
  algorithm: string
  public_jwk: JsonObject
  /**
   * Kept in the database so every process signs with the same key, encrypted: `v1.<iv>.<ciphertext>.<tag>`
   * (AES-256-GCM under a key derived from SECRET_KEY, bound to the kid; @gatehouse/auth's SecretBox).
   */
  private_jwk: string
  created_at: CreatedAt & Generated<Date>
  /** From when the key signs (KEY_ACTIVATION_DELAY after a rotation); it verifies from its creation. */
  activates_at: Generated<Date>
  retired_at: Timestamp | null
}

export interface ObjectPermissionTable {
  id: Generated<number>
  permission_id: number
  /** Exactly one of user_id and group_id is set. */
  user_id: number | null
  group_id: number | null
  object_id: string
}

export interface ArticleTable {
  id: Generated<number>
  title: string
  body: string
  published: Generated<boolean>
  author_id: number
  created_at: CreatedAt & Generated<Date>
}

export interface ThrottleCounterTable {
  /** What is counted, e.g. `anon:203.0.113.7` or `login-user:alice`. */
  key: string
  /** Start of the fixed window this row counts; windows are aligned to the epoch. */
  window_start: Timestamp
  hits: number
  /** End of the window; rows past it are pruned. */
  expires_at: Timestamp
}

export interface ApiTokenTable {
  /**
   * The public half of the key (`<id>.<secret>`), or for a DRF key the first 24 hex of its
   * digest; safe to show in lists and logs.
   */
  id: string
  user_id: number
  name: string
  /** Hex SHA-256 of the secret half (of a DRF key, of the key); the secret itself is never stored. */
  secret_hash: string
  /**
   * The user's DRF key (40 hex, derived, the same on every `auth.tokens.obtain`): its id is the first
   * 24 hex of its digest. At most one per user.
   */
  is_default: Generated<boolean>
  created_at: Timestamp
  expires_at: Timestamp | null
  /** Written at most once a minute per token, never on every request. */
  last_used_at: Timestamp | null
}

export interface SessionTable {
  /** The public half of the `sessionid` cookie (`<id>.<secret>`); safe to list and log. */
  id: string
  user_id: number
  /** Hex SHA-256 of the secret half; the secret itself is never stored. */
  secret_hash: string
  created_at: CreatedAt & Generated<Date>
  /** Slides forward on use (throttled writes); past it the session is gone. */
  expires_at: Timestamp
  last_used_at: ColumnType<Date, Date | string | undefined, Date | string>
  address: string | null
  user_agent: string | null
}

export interface AuditEventTable {
  id: Generated<number>
  created_at: CreatedAt & Generated<Date>
  /** `login.succeeded`, `login.failed`, `token.refreshed`, … (see @gatehouse/auth's audit). */
  event: string
  user_id: number | null
  username: string | null
  address: string | null
  user_agent: string | null
  detail: ColumnType<Record<string, unknown>, string | undefined, string>
}

export interface OAuthClientTable {
  /** The client_id. */
  id: string
  name: string
  /** Hex SHA-256 of the client secret; null for a public client. The secret itself is never stored. */
  secret_hash: string | null
  redirect_uris: ColumnType<string[], string | undefined, string>
  grant_types: ColumnType<string[], string | undefined, string>
  /** Space separated, as in OAuth requests. */
  scopes: Generated<string>
  public: Generated<boolean>
  /** May introspect any token (an API checking the tokens presented to it); others learn nothing there. */
  resource_server: Generated<boolean>
  /** The user client_credentials tokens act as (`client:<id>`). */
  service_user_id: number | null
  created_at: CreatedAt & Generated<Date>
}

/** One oidc-provider model instance (access token, code, grant, interaction, …). */
export interface OAuthPayloadTable {
  model: string
  /**
   * Hex SHA-256 of the provider's id (for a code, a refresh token or a session, the credential
   * itself), except for a Grant, whose id is a reference other rows hold in grant_id.
   */
  id: string
  payload: JsonObject
  grant_id: string | null
  user_code: string | null
  uid: string | null
  expires_at: Timestamp | null
  consumed_at: Timestamp | null
}

export interface OAuthSecretTable {
  name: string
  /** Encrypted like signing_keys.private_jwk, bound to the name. */
  secret: string
  created_at: CreatedAt & Generated<Date>
}

export interface Database {
  users: UserTable
  groups: GroupTable
  user_groups: UserGroupTable
  permissions: PermissionTable
  group_permissions: GroupPermissionTable
  user_permissions: UserPermissionTable
  outstanding_tokens: OutstandingTokenTable
  blacklisted_tokens: BlacklistedTokenTable
  token_families: TokenFamilyTable
  signing_keys: SigningKeyTable
  object_permissions: ObjectPermissionTable
  articles: ArticleTable
  throttle_counters: ThrottleCounterTable
  api_tokens: ApiTokenTable
  sessions: SessionTable
  audit_events: AuditEventTable
  oauth_clients: OAuthClientTable
  oauth_payloads: OAuthPayloadTable
  oauth_secrets: OAuthSecretTable
}

export type User = Selectable<UserTable>
export type NewUser = Insertable<UserTable>
export type UserUpdate = Updateable<UserTable>
export type Group = Selectable<GroupTable>
export type Permission = Selectable<PermissionTable>
export type OutstandingToken = Selectable<OutstandingTokenTable>
export type NewOutstandingToken = Insertable<OutstandingTokenTable>
export type SigningKey = Selectable<SigningKeyTable>
export type Article = Selectable<ArticleTable>
export type NewArticle = Insertable<ArticleTable>
export type ArticleUpdate = Updateable<ArticleTable>
export type NewSigningKey = Insertable<SigningKeyTable>
export type ThrottleCounter = Selectable<ThrottleCounterTable>
export type ApiToken = Selectable<ApiTokenTable>
export type NewApiToken = Insertable<ApiTokenTable>
export type Session = Selectable<SessionTable>
export type NewSession = Insertable<SessionTable>
export type AuditEvent = Selectable<AuditEventTable>
export type NewAuditEvent = Insertable<AuditEventTable>
export type OAuthClient = Selectable<OAuthClientTable>
export type NewOAuthClient = Insertable<OAuthClientTable>
export type OAuthPayload = Selectable<OAuthPayloadTable>
