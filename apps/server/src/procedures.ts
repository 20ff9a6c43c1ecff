/**
 * The procedure builders routers may use. Each is a middleware chain on the base procedure,
 * whose first link translates domain errors into wire errors.
 */
import { HasGroup, IsAdminUser, IsAuthenticatedOrTokenHasScope, OAuthScopes } from '@gatehouse/auth'

import { isAuthenticated } from './middleware/authenticate.js'
import { defaultPermission, permitted } from './middleware/permissions.js'
import { baseProcedure } from './trpc.js'

export { permitted }
/** ScopedRateThrottle: `publicProcedure.use(throttled('register'))`, rate from THROTTLE_RATES. */
export { throttled } from './middleware/throttle.js'

/** AllowAny: an explicit opt-out of the default (register, login, refresh…). */
export const publicProcedure = baseProcedure

/**
 * AllowAny, and no authentication at all: simplejwt's token views (refresh, verify, the sliding
 * ones), which a stale `Authorization` header must never stop.
 */
export const tokenViewProcedure = baseProcedure.meta({ tokenView: true })

/** The global default permission (DEFAULT_PERMISSION, IsAuthenticated unless configured). */
export const procedure = baseProcedure.use(defaultPermission)

/** IsAuthenticated; `ctx.user` is non-null. */
export const protectedProcedure = baseProcedure.use(isAuthenticated)

/** IsAdminUser (`is_staff`). */
export const adminProcedure = protectedProcedure.use(permitted(IsAdminUser))

/** A superuser, or a member of any of the named groups (the tutorial's IsAdmin). */
export function roleProcedure(...groups: readonly [string, ...string[]]) {
  return protectedProcedure.use(permitted(HasGroup(groups)))
}

/** Members of the named groups only; superusers are not let in (the tutorial's IsManager, IsHR). */
export function memberProcedure(...groups: readonly [string, ...string[]]) {
  return protectedProcedure.use(permitted(HasGroup(groups, { superuserBypass: false })))
}

/**
 * IsAuthenticated, and open to OAuth access tokens that hold `scopes` (none given: `read` for a
 * query, `write` for a mutation): DOT's IsAuthenticatedOrTokenHasScope. Other credentials pass as
 * on protectedProcedure; further permissions still apply to the token's user, so scopes only
 * narrow. Procedures built any other way refuse OAuth tokens (middleware/oauth.ts).
 *
 * @example
 * scoped: scopedProcedure('read').query(({ ctx }) => ...)
 */
export function scopedProcedure(...scopes: readonly string[]) {
  return protectedProcedure.meta({ oauth: true }).use(permitted(IsAuthenticatedOrTokenHasScope(...scopes)))
}

/**
 * AllowAny, and open to OAuth access tokens that hold `scopes` (none given: `read`/`write` by
 * kind); for procedures anonymous callers may use too, such as reading published articles.
 */
export function scopedPublicProcedure(...scopes: readonly string[]) {
  return publicProcedure.meta({ oauth: true }).use(permitted(OAuthScopes(...scopes)))
}
