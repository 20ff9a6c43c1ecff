import { createCallerFactory, router } from '../trpc.js'
import { authRouter } from './auth.js'
import { contentRouter } from './content.js'

export const appRouter = router({
  auth: authRouter,
  content: contentRouter,
})

export type AppRouter = typeof appRouter

export const createCaller = createCallerFactory(appRouter)
