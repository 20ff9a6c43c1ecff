import type { Db, User } from '@gatehouse/db'
import type { RawBuilder } from 'kysely'
import { sql } from 'kysely'

import { userGroupNames } from './group.repository.js'

/** `token_epoch + 1`, for an UPDATE that bumps the epoch along with other columns. */
export const NEXT_EPOCH: RawBuilder<number> = sql<number>`token_epoch + 1`

/** Revokes every access and sliding token of the user in one statement. */
export async function bumpTokenEpoch(db: Db, userId: number): Promise<void> {
  await db.updateTable('users').set({ token_epoch: NEXT_EPOCH }).where('id', '=', userId).execute()
}

/** Bumps the epoch of every member of a group (the group is about to change for all of them). */
export async function bumpGroupMembersEpoch(db: Db, groupId: number): Promise<void> {
  await db
    .updateTable('users')
    .set({ token_epoch: NEXT_EPOCH })
    .where('id', 'in', (eb) => eb.selectFrom('user_groups').select('user_id').where('group_id', '=', groupId))
    .execute()
}

/** The user's current epoch; 0 for a user that does not exist (their tokens fail elsewhere). */
export async function readTokenEpoch(db: Db, userId: number): Promise<number> {
  const row = await db.selectFrom('users').select('token_epoch').where('id', '=', userId).executeTakeFirst()
  return row?.token_epoch ?? 0
}

export interface TokenUserRow extends User {
  groups: string[]
  /** Whether `jti` is blacklisted; false when no jti was asked about. */
  blacklisted: boolean
}

/**
 * Everything authenticating a JWT needs, in one round trip: the user, their groups, their token
 * epoch (a users column), and, for a sliding token, whether its jti is blacklisted.
 */
export async function findTokenUser(db: Db, userId: number, jti?: string): Promise<TokenUserRow | undefined> {
  const blacklisted =
    jti === undefined
      ? sql<boolean>`false`
      : sql<boolean>`exists (select 1 from blacklisted_tokens b where b.jti = ${jti})`
  return db
    .selectFrom('users')
    .selectAll('users')
    .select([userGroupNames(), blacklisted.as('blacklisted')])
    .where('users.id', '=', userId)
    .executeTakeFirst()
}

/** A sliding token's row and blacklist state, with its user's account state and epoch. */
export async function findSlidingToken(db: Db, jti: string) {
  return db
    .selectFrom('outstanding_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .leftJoin('blacklisted_tokens as b', 'b.jti', 't.jti')
    .select(['t.user_id', 't.token_type', 'u.username', 'u.is_active', 'u.token_epoch'])
    .select(sql<boolean>`b.jti is not null`.as('blacklisted'))
    .where('t.jti', '=', jti)
    .executeTakeFirst()
}

/**
 * Ends the user's sign-ins at the OAuth server (oidc-provider's `Session` rows, apps/server/src/oauth):
 * without this, a browser signed in there would go on getting codes for the user's apps after
 * the user ended every other login.
 */
export async function deleteUserOAuthSessions(db: Db, userId: number): Promise<number> {
  const result = await db
    .deleteFrom('oauth_payloads')
    .where('model', '=', 'Session')
    .where(sql<string>`payload->>'accountId'`, '=', String(userId))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
