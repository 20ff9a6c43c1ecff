/** Gatehouse's own routes for articles, the example resource with per-object permissions. */
import type { RestView } from '../table.js'
import { body, op, param, query, toSnake, view } from '../table.js'
import { page } from './shared.js'

export const articleViews: RestView[] = [
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
]
