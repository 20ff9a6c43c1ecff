/**
 * The REST facade's routes: the seed's two Django projects first, with their URLs, bodies and
 * statuses as ../shared/reference/drf-wire.md records them, then Gatehouse's own procedures in
 * DRF's style (plural resources, `{id}` detail URLs, 201 on create, 204 on delete, snake_case
 * fields, cursor pages as `{next, previous, results}`). Every route calls its procedure; nothing
 * here decides who may do what.
 */
import * as z from 'zod'

import type { RestRequest, RestView } from './table.js'
import { body, constant, op, param, query, toSnake, view } from './table.js'

const INVALID_CREDENTIALS = { status: 401, body: { detail: 'Invalid credentials' } }
// simplejwt's TokenObtain*View answer to a wrong password, with its view's challenge.
const NO_ACTIVE_ACCOUNT = {
  status: 401,
  body: { detail: 'No active account found with the given credentials' },
  challenge: 'Bearer realm="api"',
}
const credentials = { username: body('string'), password: body('string') }

// The success bodies' schemas, for the OpenAPI document (openapi.ts).
const PAIR = z.object({ access: z.string(), refresh: z.string() })
const EMPTY = z.object({})
const MESSAGE = z.object({ message: z.string() })
const CONTENT = z.object({ content: z.string() })

/** A keyset page as DRF's CursorPagination shapes it; `previous` is always null (forward only). */
function page(output: { items: readonly unknown[]; nextCursor: number | null }, request: RestRequest) {
  let next: string | null = null
  if (output.nextCursor !== null) {
    const url = new URL(request.url)
    url.searchParams.set('cursor', String(output.nextCursor))
    next = url.href
  }
  return { next, previous: null, results: toSnake(output.items) }
}

/** The seed's code-1: DRF TokenAuthentication under /api/token-auth/. */
const code1: RestView[] = [
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

/** The seed's code-2: simplejwt's JWTAuthentication under /api/, and simplejwt's token views. */
const code2: RestView[] = [
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

/** simplejwt's and DRF's other stock views, at the URLs their docs give them. */
const stock: RestView[] = [
  view({
    path: '/api/token/',
    name: 'Token Obtain Pair',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.login',
        input: credentials,
        public: true,
        respond: ({ access, refresh }) => ({ refresh, access }),
        response: PAIR,
        errors: { INVALID_CREDENTIALS: NO_ACTIVE_ACCOUNT },
        summary: 'A JWT pair for a username and password (no cookies)',
      }),
    },
  }),
  view({
    path: '/api/token/blacklist/',
    name: 'Token Blacklist',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.logout',
        input: { refresh: body('string') },
        public: true,
        respond: () => ({}),
        response: EMPTY,
        summary: 'Blacklist a refresh token',
      }),
    },
  }),
  view({
    path: '/api/token/sliding/',
    name: 'Token Obtain Sliding',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.sliding.obtain',
        input: credentials,
        public: true,
        errors: { INVALID_CREDENTIALS: NO_ACTIVE_ACCOUNT },
        summary: 'A sliding token for a username and password',
      }),
    },
  }),
  view({
    path: '/api/token/sliding/refresh/',
    name: 'Token Refresh Sliding',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.sliding.refresh',
        input: { token: body('string') },
        public: true,
        summary: 'Refresh a sliding token in place',
      }),
    },
  }),
  view({
    path: '/api/token/sliding/blacklist/',
    name: 'Token Blacklist Sliding',
    auth: 'none',
    operations: {
      POST: op({
        procedure: 'auth.sliding.logout',
        input: { token: body('string') },
        public: true,
        respond: () => ({}),
        summary: 'Blacklist a sliding token and every refresh of it',
      }),
    },
  }),
  view({
    path: '/api/api-token-auth/',
    name: 'Obtain Auth Token',
    auth: 'default',
    operations: {
      POST: op({
        procedure: 'auth.tokens.obtain',
        input: credentials,
        public: true,
        errors: {
          INVALID_CREDENTIALS: {
            status: 400,
            body: { non_field_errors: ['Unable to log in with provided credentials.'] },
          },
        },
        summary: "DRF's obtain_auth_token: the user's API token, the same on every call",
      }),
    },
  }),
]

/** Gatehouse's own procedures, authenticated by every scheme of AUTH_SCHEMES. */
const own: RestView[] = [
  view({
    path: '/api/me/',
    name: 'Me',
    auth: 'default',
    operations: { GET: op({ procedure: 'auth.me', summary: 'The caller, with their permissions' }) },
  }),
  view({
    path: '/api/logout-all/',
    name: 'Logout All',
    auth: 'default',
    operations: { POST: op({ procedure: 'auth.logoutAll', summary: 'End every login of the caller' }) },
  }),
  view({
    path: '/api/tokens/',
    name: 'Token List',
    auth: 'default',
    operations: {
      GET: op({
        procedure: 'auth.tokens.list',
        respond: ({ items }) => toSnake(items),
        summary: 'The caller’s API tokens',
      }),
      POST: op({
        procedure: 'auth.tokens.create',
        input: { name: body('string'), expiresAt: body('string') },
        status: 201,
        summary: 'A new named API token, shown this once',
      }),
    },
  }),
  view({
    path: '/api/tokens/revoke-all/',
    name: 'Token Revoke All',
    auth: 'default',
    operations: { POST: op({ procedure: 'auth.tokens.revokeAll', summary: 'Revoke every API token of the caller' }) },
  }),
  view({
    path: '/api/tokens/{id}/',
    name: 'Token Instance',
    auth: 'default',
    params: { id: 'string' },
    operations: {
      DELETE: op({
        procedure: 'auth.tokens.revoke',
        input: { id: param() },
        status: 204,
        summary: 'Revoke one API token',
      }),
    },
  }),
  view({
    path: '/api/session/login/',
    name: 'Session Login',
    auth: 'default',
    cookies: true,
    operations: {
      POST: op({
        procedure: 'auth.session.login',
        input: credentials,
        public: true,
        summary: 'Open a session: sets sessionid and csrftoken',
      }),
    },
  }),
  view({
    path: '/api/session/logout/',
    name: 'Session Logout',
    auth: 'default',
    cookies: true,
    operations: {
      POST: op({ procedure: 'auth.session.logout', public: true, summary: 'End the presented session' }),
    },
  }),
  view({
    path: '/api/sessions/',
    name: 'Session List',
    auth: 'default',
    operations: {
      GET: op({
        procedure: 'auth.session.list',
        respond: ({ items }) => toSnake(items),
        summary: 'The caller’s sessions',
      }),
    },
  }),
  view({
    path: '/api/sessions/revoke-others/',
    name: 'Session Revoke Others',
    auth: 'default',
    operations: {
      POST: op({ procedure: 'auth.session.revokeOthers', summary: 'End every other session of the caller' }),
    },
  }),
  view({
    path: '/api/sessions/{id}/',
    name: 'Session Instance',
    auth: 'default',
    params: { id: 'string' },
    operations: {
      DELETE: op({
        procedure: 'auth.session.revoke',
        input: { id: param() },
        status: 204,
        summary: 'End one of the caller’s sessions',
      }),
    },
  }),
  view({
    path: '/api/articles/',
    name: 'Article List',
    auth: 'default',
    operations: {
      GET: op({
        procedure: 'articles.list',
        input: { cursor: query('integer'), limit: query('integer') },
        public: true,
        respond: page,
        summary: 'Articles the caller may read, newest first',
      }),
      POST: op({
        procedure: 'articles.create',
        input: { title: body('string'), body: body('string'), published: body('boolean') },
        status: 201,
        respond: ({ article }) => toSnake(article),
        summary: 'Write an article',
      }),
    },
  }),
  view({
    path: '/api/articles/{id}/',
    name: 'Article Instance',
    auth: 'default',
    params: { id: 'integer' },
    operations: {
      GET: op({
        procedure: 'articles.get',
        input: { id: param() },
        public: true,
        respond: ({ article }) => toSnake(article),
        summary: 'One article',
      }),
      PATCH: op({
        procedure: 'articles.update',
        input: { id: param(), title: body('string'), body: body('string'), published: body('boolean') },
        public: true,
        respond: ({ article }) => toSnake(article),
        summary: 'Edit an article',
      }),
      DELETE: op({
        procedure: 'articles.delete',
        input: { id: param() },
        public: true,
        status: 204,
        summary: 'Delete an article',
      }),
    },
  }),
  view({
    path: '/api/articles/{id}/share/',
    name: 'Article Share',
    auth: 'default',
    params: { id: 'integer' },
    operations: {
      POST: op({
        procedure: 'articles.share',
        input: { id: param(), username: body('string') },
        respond: ({ article }) => toSnake(article),
        summary: 'Let one more user edit an article',
      }),
    },
  }),
  view({
    path: '/api/admin/users/',
    name: 'User List',
    auth: 'default',
    operations: {
      GET: op({
        procedure: 'admin.users.list',
        input: { search: query('string'), cursor: query('integer'), limit: query('integer') },
        respond: page,
        summary: 'Users, by id',
      }),
    },
  }),
  view({
    path: '/api/admin/users/{id}/',
    name: 'User Instance',
    auth: 'default',
    params: { id: 'integer' },
    operations: {
      GET: op({
        procedure: 'admin.users.get',
        input: { id: param() },
        respond: ({ user }) => toSnake(user),
        summary: 'One user',
      }),
      PATCH: op({
        procedure: 'admin.users.update',
        input: { id: param(), email: body('string'), isStaff: body('boolean'), isSuperuser: body('boolean') },
        respond: ({ user }) => toSnake(user),
        summary: 'Change a user’s email and flags',
      }),
    },
  }),
  ...(['activate', 'deactivate'] as const).map((action) =>
    view({
      path: `/api/admin/users/{id}/${action}/`,
      name: action === 'activate' ? 'User Activate' : 'User Deactivate',
      auth: 'default',
      params: { id: 'integer' },
      operations: {
        POST: op({
          procedure: `admin.users.${action}`,
          input: { id: param() },
          respond: ({ user }) => toSnake(user),
          summary: action === 'activate' ? 'Let a user log in again' : 'Stop a user from logging in',
        }),
      },
    }),
  ),
  view({
    path: '/api/admin/users/{id}/groups/',
    name: 'User Groups',
    auth: 'default',
    params: { id: 'integer' },
    operations: {
      PUT: op({
        procedure: 'admin.users.setGroups',
        input: { id: param(), groups: body('string[]') },
        respond: ({ user }) => toSnake(user),
        summary: 'Replace a user’s groups',
      }),
    },
  }),
  view({
    path: '/api/admin/groups/',
    name: 'Group List',
    auth: 'default',
    operations: {
      GET: op({ procedure: 'admin.groups.list', respond: ({ items }) => toSnake(items), summary: 'Groups' }),
      POST: op({
        procedure: 'admin.groups.create',
        input: { name: body('string') },
        status: 201,
        summary: 'Create a group (an existing one answers created: false)',
      }),
    },
  }),
  view({
    path: '/api/admin/groups/{name}/',
    name: 'Group Instance',
    auth: 'default',
    params: { name: 'string' },
    operations: {
      DELETE: op({
        procedure: 'admin.groups.delete',
        input: { name: param() },
        status: 204,
        summary: 'Delete a group',
      }),
    },
  }),
  view({
    path: '/api/admin/permissions/',
    name: 'Permission List',
    auth: 'default',
    operations: {
      GET: op({ procedure: 'admin.permissions.list', respond: ({ items }) => toSnake(items), summary: 'Permissions' }),
    },
  }),
  ...(['grant', 'revoke'] as const).map((action) =>
    view({
      path: `/api/admin/permissions/${action}/`,
      name: action === 'grant' ? 'Permission Grant' : 'Permission Revoke',
      auth: 'default',
      operations: {
        POST: op({
          procedure: `admin.permissions.${action}`,
          input: { username: body('string'), group: body('string'), codename: body('string') },
          summary: `${action === 'grant' ? 'Grant' : 'Revoke'} a permission to a user or a group`,
        }),
      },
    }),
  ),
  view({
    path: '/api/admin/audit/',
    name: 'Audit Event List',
    auth: 'default',
    operations: {
      GET: op({
        procedure: 'admin.audit.list',
        input: {
          event: query('string'),
          userId: query('integer'),
          username: query('string'),
          cursor: query('integer'),
          limit: query('integer'),
        },
        respond: page,
        summary: 'The security log, newest first',
      }),
    },
  }),
]

/** Every view of the facade, the tutorial's first. */
export const REST_VIEWS: readonly RestView[] = [...code1, ...code2, ...stock, ...own]
