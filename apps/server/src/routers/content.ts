import { memberProcedure, protectedProcedure, roleProcedure } from '../procedures.js'
import { router } from '../trpc.js'

export const contentRouter = router({
  protected: protectedProcedure.query(() => ({ message: 'This is a protected view' as const })),
  admin: roleProcedure('Admin').query(() => ({ content: 'Admin-only content' as const })),
  manager: memberProcedure('Manager').query(() => ({ content: 'Manager-only content' as const })),
  hr: memberProcedure('HR').query(() => ({ content: 'HR-only content' as const })),
})
