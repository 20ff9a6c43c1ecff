import type { Db, NewOutstandingToken, OutstandingToken } from '@gatehouse/db'
import type { RawBuilder } from 'kysely'
import { sql } from 'kysely'

import type { AuditRow } from '../audit/events.js'
import { bumpTokenEpoch } from './epoch.repository.js'

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
  /** This statement recorded the next token (the rotation, or the grace sibling). */
  won: boolean
}

interface RotationRequest {
  jti: string
  userId: number
  next: { jti: string; expiresAt: Date }
  /** The service clock's now: the rotated token's `rotated_at`. */
  now: Date
  audit?: AuditRow | undefined
}

/**
 * The family's row, inserted or locked, as a CTE gated by `when`: it yields the family's id only
 * while the family is not revoked. Every statement that records a token in a family goes through
 * it, and every revocation sets `revoked_at` under the same row lock before blacklisting the
 * family's tokens, so a token recorded at the same moment as a revocation either waits and is
 * refused or commits first and is blacklisted with the rest (READ COMMITTED re-reads a row it
 * waited for). `expires_at` follows the family's latest token, for pruning.
 */
function liveFamilyCte(next: { expiresAt: Date }, when: RawBuilder<unknown>) {
  return sql`fam as (
      insert into token_families (id, user_id, expires_at)
      select tok.family_id, tok.user_id, ${next.expiresAt} from tok join usr on usr.is_active where ${when}
      on conflict (id) do update set expires_at = greatest(token_families.expires_at, excluded.expires_at)
        where token_families.revoked_at is null
      returning id
    )`
}

/** The token's row (for its user) and the user, as the rotation statements read them. */
function tokenAndUserCtes(r: { jti: string; userId: number }) {
  return sql`tok as (
      select jti, user_id, family_id from outstanding_tokens where jti = ${r.jti} and user_id = ${r.userId}
    ), usr as (
      select u.id, u.username, u.is_active, u.token_epoch from users u join tok on u.id = tok.user_id
    )`
}

/** Records the next token in the presented one's family when `won` (a CTE name) has a row. */
function nextTokenCte(next: { jti: string; expiresAt: Date }, won: string) {
  return sql`ins as (
      insert into outstanding_tokens (jti, user_id, family_id, token_type, expires_at)
      select ${next.jti}, tok.user_id, tok.family_id, 'refresh', ${next.expiresAt}
      from tok where exists (select 1 from ${sql.table(won)})
      returning jti
    )`
}

// The winner's audit row (token.refreshed) is inserted by the same statement: one commit per
// rotation instead of two, and a rotation is never without its row. Its detail gains familyId.
function auditCte(audit: AuditRow | undefined) {
  return audit
    ? sql`, aud as (
      insert into audit_events (created_at, event, user_id, username, address, user_agent, detail)
      select ${audit.created_at}, ${audit.event}, usr.id, coalesce(${audit.username}::text, usr.username),
        ${audit.address}::text, ${audit.user_agent}::text,
        ${audit.detail}::jsonb || jsonb_build_object('familyId', tok.family_id)
      from tok join usr on true where exists (select 1 from ins)
    )`
    : sql``
}

const OUTCOME = sql`select tok.family_id, usr.id is not null as user_found, usr.is_active, usr.token_epoch,
      exists (select 1 from ins) as won
    from tok left join usr on true`

/**
 * A whole rotation (ROTATE_REFRESH_TOKENS with BLACKLIST_AFTER_ROTATION) in one statement, atomic
 * without BEGIN/COMMIT: find the presented token's row (for its user), read the user, lock the
 * live family, blacklist the token (noting when) and record its successor. The blacklist's primary
 * key decides between concurrent rotations of one token, as `blacklistToken` does: exactly one
 * statement inserts, the others wait for it and find the conflict (`won` false). An unknown token
 * gives no row; a missing or inactive user, or a revoked family, writes nothing.
 */
export async function rotateRefreshRow(db: Db, r: RotationRequest): Promise<RotationOutcome | undefined> {
  const { rows } = await sql<RotationOutcome>`
    with ${tokenAndUserCtes(r)}, ${liveFamilyCte(r.next, sql`true`)}, bl as (
      insert into blacklisted_tokens (jti, rotated_at)
      select tok.jti, ${r.now} from tok where exists (select 1 from fam)
      on conflict (jti) do nothing
      returning jti
    ), ${nextTokenCte(r.next, 'bl')}${auditCte(r.audit)}
    ${OUTCOME}`.execute(db)
  return rows[0]
}

/**
 * The reuse grace (REFRESH_REUSE_INTERVAL): a token that rotation blacklisted at or after
 * `rotatedSince` gets a sibling, a new token of the same live family, in one statement as
 * `rotateRefreshRow`. `won` false: outside the window, blacklisted by a revocation, or the family
 * is revoked (then it stays so: a sibling is never recorded in a revoked family).
 */
export async function recordGraceSibling(
  db: Db,
  r: RotationRequest & { rotatedSince: Date },
): Promise<RotationOutcome | undefined> {
  const rotated = sql`exists (
      select 1 from blacklisted_tokens b where b.jti = tok.jti and b.rotated_at >= ${r.rotatedSince}
    )`
  const { rows } = await sql<RotationOutcome>`
    with ${tokenAndUserCtes(r)}, ${liveFamilyCte(r.next, rotated)}, ${nextTokenCte(r.next, 'fam')}${auditCte(r.audit)}
    ${OUTCOME}`.execute(db)
  return rows[0]
}

/**
 * Locks the family for a rotation that does not blacklist (BLACKLIST_AFTER_ROTATION=false), in
 * the caller's transaction: false when the family is revoked.
 */
export async function lockLiveFamily(
  db: Db,
  r: { familyId: string; userId: number; expiresAt: Date },
): Promise<boolean> {
  const { rows } = await sql`
    insert into token_families (id, user_id, expires_at) values (${r.familyId}, ${r.userId}, ${r.expiresAt})
    on conflict (id) do update set expires_at = greatest(token_families.expires_at, excluded.expires_at)
      where token_families.revoked_at is null
    returning id`.execute(db)
  return rows.length > 0
}

/**
 * Ends a login: marks its family revoked (under the row lock every rotation takes, see
 * `liveFamilyCte`) and then blacklists every token of it, the ones recorded by rotations that
 * committed while this waited included. With `bumpEpoch` (refresh token reuse) the user's token
 * epoch moves on as well, ending the access tokens issued to the family: the user row is locked
 * first, the order changePassword and logoutEverywhere lock in, so they cannot deadlock with it.
 * FOR NO KEY UPDATE, as their UPDATE takes it: FOR UPDATE would also wait for the key-share
 * locks that a rotation's inserts (foreign keys to users) hold while it holds the family's lock.
 * Returns whether this call revoked the family (false: it already was; the epoch is left alone).
 */
export async function revokeFamily(
  db: Db,
  r: { familyId: string; userId: number; bumpEpoch: boolean },
): Promise<boolean> {
  // In the caller's transaction when given one (tests hold it open to order the race).
  const inTransaction = <T>(work: (trx: Db) => Promise<T>) =>
    db.isTransaction ? work(db) : db.transaction().execute(work)
  return inTransaction(async (trx) => {
    if (r.bumpEpoch) await trx.selectFrom('users').select('id').where('id', '=', r.userId).forNoKeyUpdate().execute()
    const { rows } = await sql`
      insert into token_families (id, user_id, expires_at, revoked_at)
      select ${r.familyId}, ${r.userId}, coalesce(max(expires_at), now()), now()
      from outstanding_tokens where family_id = ${r.familyId}
      on conflict (id) do update set revoked_at = excluded.revoked_at where token_families.revoked_at is null
      returning id`.execute(trx)
    const revoked = rows.length > 0
    if (revoked && r.bumpEpoch) await bumpTokenEpoch(trx, r.userId)
    // A statement of its own, after the lock: it sees tokens committed while the lock was awaited.
    await trx
      .insertInto('blacklisted_tokens')
      .columns(['jti'])
      .expression((eb) => eb.selectFrom('outstanding_tokens').select('jti').where('family_id', '=', r.familyId))
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute()
    return revoked
  })
}

/**
 * Blacklists every outstanding token of a user ("log out everywhere", a password change,
 * deactivation), revoking their refresh families first, so that no rotation or grace sibling
 * recorded meanwhile outlives it. Families are locked in id order: two of these at once cannot
 * deadlock.
 */
export async function blacklistUserTokens(db: Db, userId: number): Promise<void> {
  await sql`
    insert into token_families (id, user_id, expires_at, revoked_at)
    select family_id, ${userId}, max(expires_at), now() from outstanding_tokens
    where user_id = ${userId} and token_type = 'refresh'
    group by family_id order by family_id
    on conflict (id) do update set revoked_at = excluded.revoked_at where token_families.revoked_at is null`.execute(db)
  await db
    .insertInto('blacklisted_tokens')
    .columns(['jti'])
    .expression((eb) => eb.selectFrom('outstanding_tokens').select('jti').where('user_id', '=', userId))
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute()
}
