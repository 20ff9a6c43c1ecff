import type { Db, NewUser, User, UserUpdate } from '@gatehouse/db'
import { sql } from 'kysely'

import { normalizeUsername } from '../users/username.js'
import { userGroupNames } from './group.repository.js'

/** By any spelling of the name: it is normalised as stored (users/username.ts). */
export async function findUserByUsername(db: Db, username: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', normalizeUsername(username)).executeTakeFirst()
}

/** One round trip: the user and the names of their groups. */
export async function findUserWithGroups(db: Db, id: number): Promise<(User & { groups: string[] }) | undefined> {
  const row = await db
    .selectFrom('users')
    .selectAll('users')
    .select(userGroupNames())
    .where('users.id', '=', id)
    .executeTakeFirst()
  return row
}

/** Inserts unless the username exists (atomically); undefined means it was taken. */
export async function insertUser(db: Db, user: NewUser): Promise<User | undefined> {
  return db
    .insertInto('users')
    .values(user)
    .onConflict((oc) => oc.column('username').doNothing())
    .returningAll()
    .executeTakeFirst()
}

export async function updateUser(db: Db, id: number, update: UserUpdate): Promise<void> {
  await db.updateTable('users').set(update).where('id', '=', id).execute()
}

/**
 * The highest PBKDF2 iteration count among stored hashes (imported Django users), or null when
 * there are none: the slowest password check this database can ask for.
 */
export async function findSlowestPbkdf2Iterations(db: Db): Promise<number | null> {
  const row = await db
    .selectFrom('users')
    .select(sql<string | null>`max(split_part(password, '$', 2)::bigint)`.as('iterations'))
    .where(sql<boolean>`password ~ '^pbkdf2_sha256\\$[1-9][0-9]{0,9}\\$'`)
    .executeTakeFirst()
  return row?.iterations == null ? null : Number(row.iterations)
}
