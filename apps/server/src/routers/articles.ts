/**
 * The sample resource: every kind of permission in use on one model.
 * - anyone, anonymous included, reads published articles (IsAuthenticatedOrReadOnly, the catalogue's public rule);
 * - any authenticated user writes new ones;
 * - authors edit and delete their own (IsOwner, the classic IsOwnerOrReadOnly);
 * - holders of change_article / delete_article (the Editors group) edit or delete any (ModelPermissions);
 * - `share` gives one user the per-object right to edit one article (ObjectPermissions).
 * OAuth access tokens may call all of them, reading with the `read` scope and writing with `write`
 * (DOT's TokenHasReadWriteScope), and never beyond what their user may do.
 */
import type { Article as ArticleRow, Db } from '@gatehouse/db'
import type { AccessLookup, AuthUser, Subject } from '@gatehouse/auth'
import {
  admin,
  AuthError,
  can,
  IsAuthenticated,
  IsAuthenticatedOrReadOnly,
  IsOwner,
  ModelPermissions,
  ObjectPermissions,
  or,
} from '@gatehouse/auth'
import { sql } from 'kysely'
import * as z from 'zod'

import { permitted, scopedProcedure, scopedPublicProcedure } from '../procedures.js'
import { router } from '../trpc.js'
import { field, rowId, username } from './schemas.js'

// A type alias, not an interface: it must be assignable to the permission objects' AccessObject.
export type Article = {
  id: number
  title: string
  body: string
  published: boolean
  authorId: number
  createdAt: string
}

function toArticle(row: ArticleRow): Article {
  return {
    id: row.id,
    title: row.title,
    body: row.body,
    published: row.published,
    authorId: row.author_id,
    createdAt: row.created_at.toISOString(),
  }
}

async function findArticle(db: Db, id: number): Promise<Article | undefined> {
  const row = await db.selectFrom('articles').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toArticle(row)
}

const EditArticle = or(IsOwner('authorId'), ModelPermissions('article'), ObjectPermissions('article'))
const DeleteArticle = or(IsOwner('authorId'), ModelPermissions('article'))

const id = rowId
const title = field({ max: 200 })
const body = field({ max: 100_000, allowBlank: true })
const published = z.boolean({ error: 'Must be a valid boolean.' })

/**
 * Reading goes through the catalogue's `can()` — the very function the SDK runs — with a subject
 * holding just what this one article needs, so the server and front ends cannot disagree.
 */
async function mayRead(article: Article, who: { user: AuthUser | null; access: AccessLookup }): Promise<boolean> {
  if (article.published) return true // the public rule, without a lookup
  if (!who.user) return false
  const subject: Subject = {
    userId: who.user.id,
    isSuperuser: who.user.isSuperuser,
    permissions: [...(await who.access.permissions())],
    objectPermissions: { [`article:${article.id}`]: await who.access.objectActions('article', String(article.id)) },
  }
  return can(subject, 'view', 'article', article)
}

export const articlesRouter = router({
  create: scopedProcedure()
    .input(z.strictObject({ title, body, published: published.optional() }))
    .mutation(async ({ ctx, input }) => {
      const { user } = ctx
      const row = await ctx.auth.db
        .insertInto('articles')
        .values({ title: input.title, body: input.body, published: input.published ?? false, author_id: user.id })
        .returningAll()
        .executeTakeFirstOrThrow()
      return { article: toArticle(row) }
    }),

  list: scopedPublicProcedure()
    .use(permitted(IsAuthenticatedOrReadOnly))
    .input(
      z
        .strictObject({
          cursor: id.optional(),
          limit: z
            .number()
            .int()
            .min(1, 'Ensure this value is at least 1.')
            .max(100, 'Ensure this value is at most 100.')
            .optional(),
        })
        .optional(),
    )
    .query(async ({ ctx, input }) => {
      const limit = input?.limit ?? 20
      const user = await ctx.authenticate()
      const access = await ctx.access()
      const readsAll = user !== null && (user.isSuperuser || (await access.permissions()).has('view_article'))
      let query = ctx.auth.db
        .selectFrom('articles')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(limit + 1)
      if (input?.cursor !== undefined) query = query.where('id', '<', input.cursor)
      if (!readsAll) {
        query = query.where((eb) =>
          user
            ? eb.or([
                eb('published', '=', true),
                eb('author_id', '=', user.id),
                // drafts shared with the caller (or a group of theirs) are readable, as in articles.get
                eb(
                  sql<string>`cast(articles.id as varchar)`,
                  'in',
                  eb
                    .selectFrom('object_permissions as op')
                    .innerJoin('permissions as p', 'p.id', 'op.permission_id')
                    .select('op.object_id')
                    .where('p.resource', '=', 'article')
                    .where((g) =>
                      g.or([
                        g('op.user_id', '=', user.id),
                        g(
                          'op.group_id',
                          'in',
                          g.selectFrom('user_groups').select('group_id').where('user_id', '=', user.id),
                        ),
                      ]),
                    ),
                ),
              ])
            : eb('published', '=', true),
        )
      }
      const rows = await query.execute()
      const items = rows.slice(0, limit).map(toArticle)
      return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null }
    }),

  get: scopedPublicProcedure()
    .use(permitted(IsAuthenticatedOrReadOnly))
    .input(z.strictObject({ id }))
    .query(async ({ ctx, input }) => {
      const article = await findArticle(ctx.auth.db, input.id)
      // An article the caller may not read does not exist for them (no 403 that confirms it).
      if (!article || !(await mayRead(article, { user: await ctx.authenticate(), access: await ctx.access() }))) {
        throw new AuthError('NOT_FOUND')
      }
      return { article }
    }),

  update: scopedPublicProcedure()
    .use(permitted(IsAuthenticatedOrReadOnly, EditArticle))
    .input(z.strictObject({ id, title: title.optional(), body: body.optional(), published: published.optional() }))
    .mutation(async ({ ctx, input }) => {
      const article = await ctx.authorize(await findArticle(ctx.auth.db, input.id))
      const { id: _id, ...changes } = input
      if (Object.keys(changes).length === 0) return { article }
      const row = await ctx.auth.db
        .updateTable('articles')
        .set(changes)
        .where('id', '=', article.id)
        .returningAll()
        .executeTakeFirstOrThrow()
      return { article: toArticle(row) }
    }),

  delete: scopedPublicProcedure()
    .use(permitted(IsAuthenticatedOrReadOnly, DeleteArticle))
    .input(z.strictObject({ id }))
    .mutation(async ({ ctx, input }) => {
      const article = await ctx.authorize(await findArticle(ctx.auth.db, input.id))
      await ctx.auth.db.deleteFrom('articles').where('id', '=', article.id).execute()
      return { detail: 'Deleted.' as const }
    }),

  /** The author (or an editor) lets one more user edit this article. */
  share: scopedPublicProcedure()
    .use(permitted(IsAuthenticated, or(IsOwner('authorId'), ModelPermissions('article'))))
    .input(z.strictObject({ id, username }))
    .mutation(async ({ ctx, input }) => {
      const article = await ctx.authorize(await findArticle(ctx.auth.db, input.id))
      await admin.grantObjectPermission(ctx.auth.db, {
        username: input.username,
        codename: 'change_article',
        objectId: String(article.id),
      })
      return { article }
    }),
})
