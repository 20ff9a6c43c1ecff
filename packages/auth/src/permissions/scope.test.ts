import { describe, expect, it } from 'vitest'

import type { AuthUser } from '../users/user.js'
import type { PermissionContext } from './permission.js'
import { and, IsAdminUser, not, or } from './permission.js'
import {
  HasScope,
  IsAuthenticatedOrTokenHasScope,
  IsOAuthToken,
  OAuthScopes,
  TokenHasReadWriteScope,
  TokenHasScope,
} from './scope.js'

const base: AuthUser = {
  id: 7,
  username: 'u',
  email: '',
  isActive: true,
  isStaff: false,
  isSuperuser: false,
  groups: [],
  dateJoined: new Date(0),
}
const oauth = (scopes: string[], over: Partial<AuthUser> = {}): AuthUser => ({
  ...base,
  ...over,
  oauth: { clientId: 'app', scopes, jti: 'j' },
})

function ctx(user: AuthUser | null, type: 'query' | 'mutation' = 'query'): PermissionContext {
  return {
    user,
    type,
    path: 'x.y',
    action: type === 'query' ? 'view' : 'change',
    access: { permissions: () => Promise.resolve(new Set()), objectActions: () => Promise.resolve([]) },
  }
}

describe('scope permissions', () => {
  it('HasScope (TokenHasScope) needs every scope, and refuses callers without an OAuth token, as DOT does', async () => {
    const p = HasScope('read', 'write')
    expect(TokenHasScope).toBe(HasScope)
    expect(await p.hasPermission(ctx(oauth(['read', 'write', 'openid'])))).toBe(true)
    expect(await p.hasPermission(ctx(oauth(['read'])))).toBe(false)
    expect(await p.hasPermission(ctx(base))).toBe(false) // a session or our own JWT
    expect(await p.hasPermission(ctx({ ...base, isSuperuser: true }))).toBe(false)
    expect(await p.hasPermission(ctx(null))).toBe(false)
    expect(p.message).toBe('This action needs an OAuth access token with the scopes "read write".')
  })

  it('TokenHasReadWriteScope: read for queries, write for mutations', async () => {
    const p = TokenHasReadWriteScope
    expect(await p.hasPermission(ctx(oauth(['read']), 'query'))).toBe(true)
    expect(await p.hasPermission(ctx(oauth(['read']), 'mutation'))).toBe(false)
    expect(await p.hasPermission(ctx(oauth(['write']), 'mutation'))).toBe(true)
    expect(await p.hasPermission(ctx(oauth(['write']), 'query'))).toBe(false)
    expect(await p.hasPermission(ctx(base, 'query'))).toBe(false)
  })

  it('IsAuthenticatedOrTokenHasScope lets other credentials through and holds tokens to the scopes', async () => {
    const named = IsAuthenticatedOrTokenHasScope('read')
    expect(await named.hasPermission(ctx(base))).toBe(true)
    expect(await named.hasPermission(ctx(null))).toBe(false)
    expect(await named.hasPermission(ctx(oauth(['read'])))).toBe(true)
    expect(await named.hasPermission(ctx(oauth(['write'])))).toBe(false)
    // a token's user being staff or superuser changes nothing: scopes only narrow
    expect(await named.hasPermission(ctx(oauth([], { isSuperuser: true, isStaff: true })))).toBe(false)
    const byKind = IsAuthenticatedOrTokenHasScope()
    expect(byKind.name).toBe('IsAuthenticatedOrTokenHasScope(read|write)')
    expect(await byKind.hasPermission(ctx(oauth(['read']), 'mutation'))).toBe(false)
    expect(await byKind.hasPermission(ctx(oauth(['write']), 'mutation'))).toBe(true)
  })

  it('OAuthScopes lets anonymous callers through too', async () => {
    expect(await OAuthScopes().hasPermission(ctx(null))).toBe(true)
    expect(await OAuthScopes('read').hasPermission(ctx(oauth([])))).toBe(false)
  })

  it('composes: a scope never grants what the other permissions refuse', async () => {
    const staffWithRead = and(HasScope('read'), IsAdminUser)
    expect(await staffWithRead.hasPermission(ctx(oauth(['read'])))).toBe(false)
    expect(await staffWithRead.hasPermission(ctx(oauth(['read'], { isStaff: true })))).toBe(true)
    const notOAuth = not(IsOAuthToken)
    expect(await notOAuth.hasPermission(ctx(base))).toBe(true)
    expect(await or(notOAuth, HasScope('read')).hasPermission(ctx(oauth(['write'])))).toBe(false)
  })

  it('refuses a malformed scope name at definition time', () => {
    expect(() => HasScope('read write')).toThrow(TypeError)
    expect(() => IsAuthenticatedOrTokenHasScope('a"b')).toThrow(TypeError)
  })
})
