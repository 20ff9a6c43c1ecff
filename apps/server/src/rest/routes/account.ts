/** Gatehouse's own routes for the caller: who they are, their API tokens, their sessions. */
import type { RestView } from '../table.js'
import { body, op, param, toSnake, view } from '../table.js'
import { credentials } from './shared.js'

export const accountViews: RestView[] = [
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
]
