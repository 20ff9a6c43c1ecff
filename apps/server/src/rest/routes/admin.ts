/** Gatehouse's own administration routes: users, groups, permissions and the audit log. */
import type { RestView } from '../table.js'
import { body, op, param, query, toSnake, view } from '../table.js'
import { page } from './shared.js'

export const adminViews: RestView[] = [
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
