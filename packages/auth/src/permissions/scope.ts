/**
 * OAuth scopes as permissions, django-oauth-toolkit's TokenHasScope family. They read the token
 * the `oauth` authenticator put on the caller (`user.oauth`) and compose with the other
 * permissions through `and`/`or`/`not` and `permitted(...)`.
 *
 * Scopes only narrow: a scope permission never grants anything by itself, it sits beside the
 * checks on the user (IsAuthenticated, ModelPermissions, object rules…), so a token can do at most
 * what its user (or its client's service user) may do, and only what its scopes cover.
 *
 * Like DOT's, `HasScope`/`TokenHasScope`/`TokenHasReadWriteScope` refuse every caller that did not
 * come with an OAuth token (a session, our own JWT, an API key): use them on procedures meant for
 * OAuth clients only. For procedures open to both, `IsAuthenticatedOrTokenHasScope` (the server's
 * `scopedProcedure`) lets other credentials through unchanged and holds OAuth tokens to the scopes.
 */
import type { Permission, PermissionContext } from './permission.js'
import { definePermission } from './permission.js'

/** The scopes DOT's TokenHasReadWriteScope reads: `read` for queries, `write` for mutations. */
export const READ_SCOPE = 'read'
export const WRITE_SCOPE = 'write'

/** The scopes of the caller's OAuth token; null when the caller did not come with one. */
export function tokenScopes(ctx: Pick<PermissionContext, 'user'>): readonly string[] | null {
  return ctx.user?.oauth?.scopes ?? null
}

function holdsAll(ctx: PermissionContext, scopes: readonly string[]): boolean {
  const held = tokenScopes(ctx)
  return held !== null && scopes.every((scope) => held.includes(scope))
}

/** `read` for a query, `write` for a mutation, plus any required ones. */
function readWriteScopes(ctx: PermissionContext, required: readonly string[]): readonly string[] {
  return [ctx.type === 'query' ? READ_SCOPE : WRITE_SCOPE, ...required]
}

function scopeMessage(scopes: readonly string[]): string {
  return `This action needs an OAuth access token with the scope${scopes.length === 1 ? '' : 's'} "${scopes.join(' ')}".`
}

function checkScopes(scopes: readonly string[]): void {
  for (const scope of scopes) {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
      throw new TypeError(`scope permissions: "${scope}" is not a scope (RFC 6749 scope-token)`)
    }
  }
}

/** Whether the caller came with an OAuth access token (DOT: `request.auth` is an AccessToken). */
export const IsOAuthToken = definePermission({
  name: 'IsOAuthToken',
  hasPermission: (ctx) => tokenScopes(ctx) !== null,
  message: 'This action needs an OAuth access token.',
})

/**
 * The caller's OAuth token holds every one of `scopes`; any other caller is refused (DOT's
 * TokenHasScope with `required_scopes`).
 *
 * @example
 * const readArticles = publicProcedure.use(permitted(HasScope('articles:read'), ModelPermissions('article')))
 */
export function HasScope(...scopes: readonly [string, ...string[]]): Permission {
  checkScopes(scopes)
  return definePermission({
    name: `HasScope(${scopes.join(' ')})`,
    hasPermission: (ctx) => holdsAll(ctx, scopes),
    message: scopeMessage(scopes),
  })
}

/** DOT's name for `HasScope`. */
export const TokenHasScope = HasScope

/**
 * DOT's TokenHasReadWriteScope: the caller's OAuth token holds `read` for a query, `write` for a
 * mutation (and any `required` scopes); any other caller is refused.
 */
export const TokenHasReadWriteScope = definePermission({
  name: 'TokenHasReadWriteScope',
  hasPermission: (ctx) => holdsAll(ctx, readWriteScopes(ctx, [])),
  message: `This action needs an OAuth access token with the scope "${READ_SCOPE}" (queries) or "${WRITE_SCOPE}" (mutations).`,
})

/**
 * Holds an OAuth token to `scopes` (with none given: `read` for a query, `write` for a mutation)
 * and lets every other caller through, anonymous included: the scope half of
 * IsAuthenticatedOrTokenHasScope, for procedures that anonymous callers may use too.
 *
 * @example
 * permitted(OAuthScopes(), IsAuthenticatedOrReadOnly)
 */
export function OAuthScopes(...scopes: readonly string[]): Permission {
  checkScopes(scopes)
  const label = scopes.length > 0 ? scopes.join(' ') : `${READ_SCOPE}|${WRITE_SCOPE}`
  return definePermission({
    name: `OAuthScopes(${label})`,
    hasPermission: (ctx) =>
      tokenScopes(ctx) === null || holdsAll(ctx, scopes.length > 0 ? scopes : readWriteScopes(ctx, [])),
    message: scopes.length > 0 ? scopeMessage(scopes) : TokenHasReadWriteScope.message,
  })
}

/**
 * DOT's IsAuthenticatedOrTokenHasScope: a caller authenticated any other way passes; an OAuth
 * token must hold `scopes`, or with none given `read` for a query and `write` for a mutation.
 * Anonymous callers are refused.
 *
 * @example
 * permitted(IsAuthenticatedOrTokenHasScope('read'))
 */
export function IsAuthenticatedOrTokenHasScope(...scopes: readonly string[]): Permission {
  const scoped = OAuthScopes(...scopes)
  return definePermission({
    name: `IsAuthenticatedOrTokenHasScope(${scoped.name.slice('OAuthScopes('.length, -1)})`,
    hasPermission: async (ctx) => ctx.user !== null && (await scoped.hasPermission(ctx)),
    ...(scoped.message === undefined ? {} : { message: scoped.message }),
  })
}
