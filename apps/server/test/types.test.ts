/**
 * Type-level contracts, checked by `pnpm typecheck` (tsc covers test/) and run as no-ops here.
 */
import type { AuthUser } from '@gatehouse/auth'
import type { inferProcedureInput, inferRouterOutputs } from '@trpc/server'
import { describe, expectTypeOf, it } from 'vitest'

import type { AppRouter } from '../src/routers/_app.js'
import { adminProcedure, protectedProcedure, publicProcedure, roleProcedure } from '../src/procedures.js'

type Outputs = inferRouterOutputs<AppRouter>

describe('types', () => {
  it('ctx.user is non-null in protectedProcedure and the builders on top of it', () => {
    protectedProcedure.query(({ ctx }) => {
      expectTypeOf(ctx.user).toEqualTypeOf<AuthUser>()
    })
    adminProcedure.query(({ ctx }) => expectTypeOf(ctx.user).toEqualTypeOf<AuthUser>())
    roleProcedure('HR').query(({ ctx }) => expectTypeOf(ctx.user).toEqualTypeOf<AuthUser>())
    publicProcedure.query(({ ctx }) => {
      // a public procedure has no ctx.user: it must authenticate explicitly if it cares
      expectTypeOf(ctx).not.toHaveProperty('user')
    })
  })

  it('no output carries a password', () => {
    expectTypeOf<Outputs['auth']['login']['user']>().not.toHaveProperty('password')
    expectTypeOf<Outputs['auth']['register']['user']>().not.toHaveProperty('password')
    expectTypeOf<Outputs['auth']['me']['user']>().not.toHaveProperty('password')
    expectTypeOf<Outputs['auth']['login']>().toEqualTypeOf<{
      access: string
      refresh: string
      user: { id: number; username: string; email: string; isStaff: boolean; isSuperuser: boolean; groups: string[]; dateJoined: string }
    }>()
  })

  it('inputs are the DESIGN shapes', () => {
    expectTypeOf<inferProcedureInput<AppRouter['auth']['register']>>().toEqualTypeOf<{
      username: string
      password: string
      email?: string | undefined
    }>()
    // Optional since the refresh cookie can stand in for it (a body without it and no cookie is a 400).
    expectTypeOf<inferProcedureInput<AppRouter['auth']['refresh']>>().toEqualTypeOf<{ refresh?: string | undefined }>()
    expectTypeOf<inferProcedureInput<AppRouter['auth']['login']>>().toEqualTypeOf<{
      username: string
      password: string
      cookies?: boolean | undefined
    }>()
  })
})
