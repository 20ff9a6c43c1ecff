import type { Kysely } from 'kysely'
import { sql } from 'kysely'

// Frozen copy of the catalogue as it stood when this ran; later resources get later migrations.
const RESOURCES = ['user', 'group', 'permission', 'article']
const ACTIONS = ['add', 'change', 'delete', 'view']

export async function up(db: Kysely<any>): Promise<void> {
  // django-guardian's per-object grants: a user or a group holds a permission on one object.
  await db.schema
    .createTable('object_permissions')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('permission_id', 'integer', (c) => c.notNull().references('permissions.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('group_id', 'integer', (c) => c.references('groups.id').onDelete('cascade'))
    .addColumn('object_id', 'varchar(64)', (c) => c.notNull())
    .addCheckConstraint('object_permissions_holder', sql`(user_id is null) <> (group_id is null)`)
    .execute()
  await db.schema
    .createIndex('object_permissions_user_uq')
    .on('object_permissions')
    .columns(['user_id', 'permission_id', 'object_id'])
    .unique()
    .where(sql.ref('user_id'), 'is not', null)
    .execute()
  await db.schema
    .createIndex('object_permissions_group_uq')
    .on('object_permissions')
    .columns(['group_id', 'permission_id', 'object_id'])
    .unique()
    .where(sql.ref('group_id'), 'is not', null)
    .execute()

  await db.schema
    .createTable('articles')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('published', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('author_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('articles_author_idx').on('articles').column('author_id').execute()

  await db
    .insertInto('permissions')
    .values(
      RESOURCES.flatMap((resource) =>
        ACTIONS.map((action) => ({ codename: `${action}_${resource}`, resource, name: `Can ${action} ${resource}` })),
      ),
    )
    .onConflict((oc) => oc.column('codename').doNothing())
    .execute()

  // The tutorial's editors: may change and delete any article.
  await db.insertInto('groups').values({ name: 'Editors' }).onConflict((oc) => oc.column('name').doNothing()).execute()
  await sql`
    insert into group_permissions (group_id, permission_id)
    select g.id, p.id from groups g, permissions p
    where g.name = 'Editors' and p.codename in ('view_article', 'change_article', 'delete_article')
    on conflict do nothing`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('articles').ifExists().execute()
  await db.schema.dropTable('object_permissions').ifExists().execute()
  await db.deleteFrom('groups').where('name', '=', 'Editors').execute()
  await db.deleteFrom('permissions').where('resource', 'in', RESOURCES).execute()
}
