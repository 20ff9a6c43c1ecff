/**
 * The server's procedures as the client must know them at run time: each one's kind, the token
 * endpoints (sent without the access token, never auto-refreshed), and the ones cookie mode sends
 * unbatched; and `call`, which runs any of them by its dotted path.
 */
import type { TRPCUntypedClient } from '@trpc/client'
import type { GatehouseRouter, ProcedureKinds } from '../router.js'

/**
 * Queries go out as GET and mutations as POST, so the client must know each procedure's kind at
 * run time. The annotation makes `tsc` prove this table complete and exact: a procedure added,
 * removed or changed on the server is a type error here until the table follows. (It names
 * `GatehouseRouter`, which router.ts derives from the server's `AppRouter`, rather than `AppRouter`
 * itself: exported, the table's type is in the published declarations, which must not name the
 * server.)
 */
export const PROCEDURE_KINDS: ProcedureKinds<GatehouseRouter> = {
  'auth.register': 'mutation',
  'auth.login': 'mutation',
  'auth.refresh': 'mutation',
  'auth.logout': 'mutation',
  'auth.logoutAll': 'mutation',
  'auth.verify': 'mutation',
  'auth.me': 'query',
  'auth.catalogue': 'query',
  'auth.tokens.obtain': 'mutation',
  'auth.tokens.create': 'mutation',
  'auth.tokens.list': 'query',
  'auth.tokens.revoke': 'mutation',
  'auth.tokens.revokeAll': 'mutation',
  'auth.tokens.register': 'mutation',
  'auth.sliding.obtain': 'mutation',
  'auth.sliding.refresh': 'mutation',
  'auth.sliding.logout': 'mutation',
  'auth.session.login': 'mutation',
  'auth.session.logout': 'mutation',
  'auth.session.list': 'query',
  'auth.session.revoke': 'mutation',
  'auth.session.revokeOthers': 'mutation',
  'auth.apps.list': 'query',
  'auth.apps.revoke': 'mutation',
  'content.protected': 'query',
  'content.admin': 'query',
  'content.manager': 'query',
  'content.hr': 'query',
  'content.scoped': 'query',
  'articles.create': 'mutation',
  'articles.list': 'query',
  'articles.get': 'query',
  'articles.update': 'mutation',
  'articles.delete': 'mutation',
  'articles.share': 'mutation',
  'admin.users.list': 'query',
  'admin.users.get': 'query',
  'admin.users.update': 'mutation',
  'admin.users.activate': 'mutation',
  'admin.users.deactivate': 'mutation',
  'admin.users.setGroups': 'mutation',
  'admin.groups.list': 'query',
  'admin.groups.create': 'mutation',
  'admin.groups.delete': 'mutation',
  'admin.permissions.list': 'query',
  'admin.permissions.grant': 'mutation',
  'admin.permissions.revoke': 'mutation',
  'admin.audit.list': 'query',
  'admin.oauthClients.list': 'query',
  'admin.oauthClients.create': 'mutation',
  'admin.oauthClients.delete': 'mutation',
}

export type ProcedurePath = keyof typeof PROCEDURE_KINDS

/**
 * The public token endpoints. They never carry the access token (an expired one must not get in
 * the way of logging in again) and are never auto-refreshed (their 401s are the answer).
 */
export const TOKEN_PATHS: ReadonlySet<string> = new Set<ProcedurePath>([
  'auth.register',
  'auth.login',
  'auth.refresh',
  'auth.logout',
  'auth.verify',
  'auth.tokens.obtain',
  'auth.tokens.register',
  'auth.sliding.obtain',
  'auth.sliding.refresh',
  'auth.sliding.logout',
  'auth.session.login',
  'auth.session.logout',
])

/**
 * In cookie mode, the two procedures the `refresh` cookie is sent to. Its paths are
 * `/trpc/auth.refresh` and `/trpc/auth.logout`, which a batch's URL never matches.
 */
export const UNBATCHED_COOKIE_PATHS: ReadonlySet<string> = new Set<ProcedurePath>(['auth.refresh', 'auth.logout'])

/** Runs a procedure by its dotted path; `input` is left out for a procedure that takes none. */
export type CallProcedure = (path: ProcedurePath, input?: unknown) => Promise<unknown>

/** `call` over a tRPC client: a query or a mutation as the table says, which tRPC cannot tell by itself. */
export function procedureCaller(untyped: TRPCUntypedClient<GatehouseRouter>): CallProcedure {
  return (path, input) =>
    PROCEDURE_KINDS[path] === 'query' ? untyped.query(path, input) : untyped.mutation(path, input)
}
