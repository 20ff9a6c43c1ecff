import { createCallerFactory, router } from '../trpc.js'
import { adminRouter } from './admin.js'
import { articlesRouter } from './articles.js'
import { authRouter } from './auth.js'
import { contentRouter } from './content.js'

export const appRouter = router({
  auth: authRouter,
  content: contentRouter,
  articles: articlesRouter,
  admin: adminRouter,
})

export type AppRouter = typeof appRouter

export const createCaller = createCallerFactory(appRouter)
