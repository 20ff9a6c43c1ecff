import type { Db, NewOutstandingToken, OutstandingToken } from '@gatehouse/db'
import { sql } from 'kysely'

import type { AuditRow } from '../audit/audit.js'

export async function insertOutstandingToken(db: Db, token: NewOutstandingToken): Promise<void> {
  await db.insertInto('outstanding_tokens').values(token).execute()
}

export async function findOutstandingToken(db: Db, jti: string): Promise<OutstandingToken | undefined> {
  return db.selectFrom('outstanding_tokens').selectAll().where('jti', '=', jti).executeTakeFirst()
}

export async function isBlacklisted(db: Db, jti: string): Promise<boolean> {
  const row = await db.selectFrom('blacklisted_tokens').select('jti').where('jti', '=', jti).executeTakeFirst()
  return row !== undefined
}

/**
 * Blacklists one token. Returns true if this call did it, false if it already was: the primary
 * key makes "check and set" one atomic statement, which is what makes rotation single-use.
 */
export async function blacklistToken(db: Db, jti: string): Promise<boolean> {
  const row = await db
    .insertInto('blacklisted_tokens')
    .values({ jti })
    .onConflict((oc) => oc.column('jti').doNothing())
    .returning('jti')
    .executeTakeFirst()
  return row !== undefined
}

export interface RotationOutcome {
  family_id: string
  user_found: boolean
  is_active: boolean | null
  token_epoch: number | null
  /** This statement blacklisted the presented token and recorded the next one. */
  won: boolean
}

/**
 * A whole rotation (ROTATE_REFRESH_TOKENS with BLACKLIST_AFTER_ROTATION) in one statement, atomic
 * without BEGIN/COMMIT: find the presented token's row (for its user), read the user, blacklist the
 * token and record its successor. The blacklist's primary key decides between concurrent
 * rotations of one token, as `blacklistToken` does: exactly one statement inserts, the others
 * wait for it and find the conflict (`won` false, reuse). An unknown token gives no row; a missing
 * or inactive user writes nothing. One round trip instead of six.
 */
export async function rotateRefreshRow(
  db: Db,
  r: { jti: string; userId: number; next: { jti: string; expiresAt: Date }; audit?: AuditRow | undefined },
): Promise<RotationOutcome | undefined> {
  // The winner's audit row (token.refreshed) is inserted by the same statement: one commit per
  // rotation instead of two, and a rotation is never without its row. Its detail gains familyId.
  const audit = r.audit
  const auditCte = audit
    ? sql`, aud as (
      insert into audit_events (created_at, event, user_id, username, address, user_agent, detail)
      select ${audit.created_at}, ${audit.event}, usr.id, coalesce(${audit.username}::text, usr.username),
        ${audit.address}::text, ${audit.user_agent}::text,
        ${audit.detail}::jsonb || jsonb_build_object('familyId', tok.family_id)
      from tok join usr on true where exists (select 1 from ins)
    )`
    : sql``
  const { rows } = await sql<RotationOutcome>`
    with tok as (
      select jti, user_id, family_id from outstanding_tokens where jti = ${r.jti} and user_id = ${r.userId}
    ), usr as (
      select u.id, u.username, u.is_active, u.token_epoch from users u join tok on u.id = tok.user_id
    ), bl as (
      insert into blacklisted_tokens (jti)
      select tok.jti from tok join usr on usr.is_active
      on conflict (jti) do nothing
      returning jti
    ), ins as (
      insert into outstanding_tokens (jti, user_id, family_id, token_type, expires_at)
      select ${r.next.jti}, tok.user_id, tok.family_id, 'refresh', ${r.next.expiresAt}
      from tok where exists (select 1 from bl)
      returning jti
    )${auditCte}
    select tok.family_id, usr.id is not null as user_found, usr.is_active, usr.token_epoch,
      exists (select 1 from ins) as won
    from tok left join usr on true`.execute(db)
  return rows[0]
}

/** Blacklists every token of a login's family (refresh-token reuse detected). */
export async function blacklistFamily(db: Db, familyId: string): Promise<void> {
  await db
    .insertInto('blacklisted_tokens')
    .columns(['jti'])
    .expression((eb) => eb.selectFrom('outstanding_tokens').select('jti').where('family_id', '=', familyId))
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute()
}

/** Blacklists every outstanding token of a user ("log out everywhere", deactivation). */
export async function blacklistUserTokens(db: Db, userId: number): Promise<void> {
  await db
    .insertInto('blacklisted_tokens')
    .columns(['jti'])
    .expression((eb) => eb.selectFrom('outstanding_tokens').select('jti').where('user_id', '=', userId))
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute()
}
