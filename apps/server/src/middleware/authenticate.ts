import { AuthError } from '@gatehouse/auth'

import { middleware } from '../trpc.js'

/** IsAuthenticated: from here on `ctx.user` is the caller, typed non-null. */
export const isAuthenticated = middleware(async function isAuthenticated(opts) {
  const user = await opts.ctx.authenticate()
  if (!user) throw new AuthError('NOT_AUTHENTICATED')
  return opts.next({ ctx: { user } })
})
