/** The seed's code-1: DRF TokenAuthentication under /api/token-auth/. */
import * as z from 'zod'

import type { RestView } from '../table.js'
import { op, view } from '../table.js'
import { credentials, MESSAGE } from './shared.js'

export const tokenAuthViews: RestView[] = [
  view({
    path: '/api/token-auth/register/',
    name: 'Register',
    auth: 'token',
    operations: {
      POST: op({
        procedure: 'auth.tokens.register',
        input: credentials,
        status: 201,
        public: true,
        respond: ({ user, token }) => ({ username: user.username, token }),
        response: z.object({ username: z.string(), token: z.string() }),
        summary: 'Register a user and answer its API token',
      }),
    },
  }),
  view({
    path: '/api/token-auth/login/',
    name: 'Login',
    auth: 'token',
    operations: {
      POST: op({
        procedure: 'auth.tokens.obtain',
        input: credentials,
        public: true,
        respond: ({ token }) => ({ token }),
        response: z.object({ token: z.string() }),
        errors: { INVALID_CREDENTIALS: { status: 401, body: { error: 'Invalid Credentials' } } },
        summary: "The user's API token (40 hex, the same on every login) for a username and password",
      }),
    },
  }),
  view({
    path: '/api/token-auth/protected/',
    name: 'Protected',
    auth: 'token',
    operations: {
      GET: op({
        procedure: 'content.protected',
        respond: () => ({ message: 'Hello, I am a protected content. Only authorised users can access me!' }),
        response: MESSAGE,
        summary: 'Content for any authenticated user',
      }),
    },
  }),
]
