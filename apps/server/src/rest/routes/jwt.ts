/** The seed's code-2: simplejwt's JWTAuthentication under /api/, and simplejwt's token views. */
import * as z from 'zod'

import type { RestView } from '../table.js'
import { body, constant, op, view } from '../table.js'
import { credentials, EMPTY, MESSAGE, PAIR } from './shared.js'

const INVALID_CREDENTIALS = { status: 401, body: { detail: 'Invalid credentials' } }
const CONTENT = z.object({ content: z.string() })

export const jwtViews: RestView[] = [
  view({
    path: '/api/register/',
    name: 'Register',
    auth: 'bearer',
    operations: {
      POST: op({
        procedure: 'auth.register',
        input: { ...credentials, email: body('string') },
        status: 201,
        public: true,
        respond: ({ user }) => ({ username: user.username, email: user.email }),
        response: z.object({ username: z.string(), email: z.string() }),
        summary: 'Register a user',
      }),
    },
  }),
  view({
    path: '/api/login/',
    name: 'Login',
    auth: 'bearer',
    cookies: true,
    operations: {
      POST: op({
        procedure: 'auth.login',
        input: { ...credentials, cookies: constant(true) },
        public: true,
        respond: ({ access, refresh }) => ({ access, refresh }),
        response: PAIR,
        // The seed's view reads the fields with .get(): missing ones are a failed login, not a 400.
        errors: { INVALID_INPUT: INVALID_CREDENTIALS },
        summary: 'A JWT pair for a username and password, also set as cookies',
      }),
    },
  }),
  view({
    path: '/api/logout/',
    name: 'Logout',
    auth: 'bearer',
    cookies: true,
    operations: {
      POST: op({
        procedure: 'auth.logout',
        input: { refresh: body('string') },
        public: true,
        response: z.object({ detail: z.string() }),
        summary: 'Blacklist the refresh token (body or cookie) and clear the JWT cookies',
      }),
    },
  }),
  view({
    path: '/api/protected/',
    name: 'Protected',
    auth: 'bearer',
    operations: {
      GET: op({ procedure: 'content.protected', response: MESSAGE, summary: 'Content for any authenticated user' }),
    },
  }),
  view({
    path: '/api/admin-content/',
    name: 'Admin Content',
    auth: 'bearer',
    operations: {
      GET: op({ procedure: 'content.admin', response: CONTENT, summary: 'Content for superusers and group Admin' }),
    },
  }),
  view({
    path: '/api/manager-content/',
    name: 'Manager Content',
    auth: 'bearer',
    operations: { GET: op({ procedure: 'content.manager', response: CONTENT, summary: 'Content for group Manager' }) },
  }),
  view({
    path: '/api/hr-content/',
    name: 'HR Content',
    auth: 'bearer',
    operations: { GET: op({ procedure: 'content.hr', response: CONTENT, summary: 'Content for group HR' }) },
  }),
  view({
    path: '/api/token/refresh/',
    name: 'Token Refresh',
    auth: 'none',
    cookies: true,
    operations: {
      POST: op({
        procedure: 'auth.refresh',
        input: { refresh: body('string') },
        public: true,
        respond: ({ access, refresh }) => ({ access, refresh }),
        response: PAIR,
        summary: 'Rotate a refresh token (body or cookie)',
      }),
    },
  }),
  view({
    path: '/api/token/verify/',
    name: 'Token Verify',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.verify',
        input: { token: body('string') },
        public: true,
        respond: () => ({}),
        response: EMPTY,
        errors: { TOKEN_BLACKLISTED: { status: 400, body: { non_field_errors: ['Token is blacklisted'] } } },
        summary: 'Check an access, refresh or sliding token',
      }),
    },
  }),
]
