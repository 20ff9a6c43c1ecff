import { memberProcedure, protectedProcedure, roleProcedure, scopedProcedure } from '../procedures.js'
import { router } from '../trpc.js'

export const contentRouter = router({
  protected: protectedProcedure.query(() => ({ message: 'This is a protected view' as const })),
  admin: roleProcedure('Admin').query(() => ({ content: 'Admin-only content' as const })),
  manager: memberProcedure('Manager').query(() => ({ content: 'Manager-only content' as const })),
  hr: memberProcedure('HR').query(() => ({ content: 'HR-only content' as const })),
  /**
   * protected's twin for OAuth clients: any login, or an OAuth access token with the `read`
   * scope. Says who is calling and, for a token, its client and scopes.
   */
  scoped: scopedProcedure('read').query(({ ctx }) => ({
    message: 'This is a scoped view' as const,
    username: ctx.user.username,
    oauth: ctx.user.oauth ? { clientId: ctx.user.oauth.clientId, scopes: [...ctx.user.oauth.scopes] } : null,
  })),
})
