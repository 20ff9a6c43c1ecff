/**
 * Where OAuth access tokens may go. A token is a third party acting for a user with the scopes
 * the user consented to, so it reaches only procedures that declared which scopes they need
 * (`scopedProcedure`, `scopedPublicProcedure`: meta `oauth: true`). Everywhere else (changing the
 * password, minting API keys, listing sessions, the admin) an OAuth caller is refused with 403,
 * whatever its user could do: django-oauth-toolkit's default lets any token into any view that
 * has OAuth2Authentication, which would let a `read` token mint an unscoped API key.
 *
 * A plain function rather than a `middleware(...)` builder, so trpc.ts can put it in the base
 * chain without importing back from it (as throttle.ts).
 */
import type { AuthUser } from '@gatehouse/auth'
import { AuthError } from '@gatehouse/auth'

/** What a procedure declares about OAuth, as tRPC meta. */
export interface ProcedureMeta {
  /** The procedure checks OAuth scopes itself, so OAuth access tokens may call it. */
  oauth?: boolean
  /**
   * simplejwt's token views (`authentication_classes = ()`): the procedure runs no
   * authentication, so a stale or bad `Authorization` header never stops a refresh. Every other
   * procedure authenticates a header it is sent, public ones included (trpc.ts).
   */
  tokenView?: boolean
}

export const OAUTH_NOT_ALLOWED = 'OAuth access tokens cannot call this procedure.'

interface GateContext {
  authenticate: () => Promise<AuthUser | null>
}

export async function oauthGate<R>(opts: {
  ctx: GateContext
  meta: ProcedureMeta | undefined
  next: (opts: { ctx: GateContext }) => Promise<R>
}): Promise<R> {
  if (opts.meta?.oauth === true) return opts.next({ ctx: opts.ctx })
  const { authenticate } = opts.ctx
  return opts.next({
    ctx: {
      async authenticate() {
        const user = await authenticate()
        if (user?.oauth) throw new AuthError('NOT_PERMITTED', { message: OAUTH_NOT_ALLOWED })
        return user
      },
    },
  })
}
