import type { User } from '@gatehouse/db'

/** The authenticated caller, as middleware and permissions see it. Never carries the hash. */
export interface AuthUser {
  id: number
  username: string
  email: string
  isActive: boolean
  isStaff: boolean
  isSuperuser: boolean
  groups: string[]
  dateJoined: Date
  /**
   * Set only when an OAuth access token authenticated the request (DOT's `request.auth`): the
   * client it was issued to and its scopes, which the scope permissions check. Absent for every
   * other credential.
   */
  oauth?: OAuthTokenInfo
}

/** The OAuth access token a request came with. */
export interface OAuthTokenInfo {
  clientId: string
  /** The token's `scope`, split; may be empty. */
  scopes: readonly string[]
  jti: string
}

/** The wire shape of a user (DESIGN.md): no password, no hash, dates as ISO strings. */
export interface PublicUser {
  id: number
  username: string
  email: string
  isStaff: boolean
  isSuperuser: boolean
  groups: string[]
  dateJoined: string
}

export function toAuthUser(row: User, groups: readonly string[]): AuthUser {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    isActive: row.is_active,
    isStaff: row.is_staff,
    isSuperuser: row.is_superuser,
    groups: [...groups],
    dateJoined: row.date_joined,
  }
}

export function toPublicUser(user: AuthUser): PublicUser {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    isStaff: user.isStaff,
    isSuperuser: user.isSuperuser,
    groups: [...user.groups],
    dateJoined: user.dateJoined.toISOString(),
  }
}
