import type { Kysely } from 'kysely'

// Reading the audit log is a model permission, like Django admin's `view_logentry`: superusers
// hold it, anyone else is granted it. The log is written by the server only, so `view_` is the
// one action it has. The username index serves admin.audit.list's username filter.
export async function up(db: Kysely<any>): Promise<void> {
  await db
    .insertInto('permissions')
    .values({ codename: 'view_auditevent', resource: 'auditevent', name: 'Can view audit event' })
    .onConflict((oc) => oc.column('codename').doNothing())
    .execute()
  await db.schema.createIndex('audit_events_username_idx').on('audit_events').columns(['username', 'id']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('audit_events_username_idx').ifExists().execute()
  await db.deleteFrom('permissions').where('codename', '=', 'view_auditevent').execute()
}
