import type { Kysely } from 'kysely'

// The tutorial's three roles. ON CONFLICT keeps the step idempotent if a group was made by hand.
export async function up(db: Kysely<any>): Promise<void> {
  await db
    .insertInto('groups')
    .values([{ name: 'Admin' }, { name: 'Manager' }, { name: 'HR' }])
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('groups').where('name', 'in', ['Admin', 'Manager', 'HR']).execute()
}
