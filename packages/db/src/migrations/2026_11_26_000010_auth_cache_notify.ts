import type { Kysely } from 'kysely'
import { sql } from 'kysely'

/**
 * Invalidation for the auth caches (packages/auth/src/cache): every change that can end or alter a
 * credential sends `NOTIFY gatehouse_auth, '<schema>|<what>'` when its transaction commits, whoever
 * makes it (a server process, the CLI, psql). Each server process LISTENs and drops what changed,
 * so a revocation takes effect everywhere without a per-request read.
 *
 * Payloads: `u:<user id>` (the user's row or groups), `s:<session id>`, `t:<API key id>`, `keys`
 * (signing keys), `all` (a group renamed or deleted). The schema prefix keeps tenants (and parallel
 * test schemas) sharing one database from flushing each other's caches.
 */
const FUNCTIONS = [
  sql`create or replace function gatehouse_notify_auth(what text) returns void language sql as $$
    select pg_notify('gatehouse_auth', current_schema() || '|' || what)
  $$`,
  sql`create or replace function gatehouse_users_changed() returns trigger language plpgsql as $$
  begin
    -- last_login is written by every login and password only with an epoch bump: neither alone
    -- changes what authentication returns.
    if tg_op = 'DELETE' or (old.username, old.email, old.is_active, old.is_staff, old.is_superuser,
        old.token_epoch, old.date_joined) is distinct from (new.username, new.email, new.is_active,
        new.is_staff, new.is_superuser, new.token_epoch, new.date_joined) then
      perform gatehouse_notify_auth('u:' || old.id);
    end if;
    return null;
  end $$`,
  sql`create or replace function gatehouse_user_groups_changed() returns trigger language plpgsql as $$
  begin
    if tg_op in ('DELETE', 'UPDATE') then perform gatehouse_notify_auth('u:' || old.user_id); end if;
    if tg_op in ('INSERT', 'UPDATE') then perform gatehouse_notify_auth('u:' || new.user_id); end if;
    return null;
  end $$`,
  sql`create or replace function gatehouse_groups_changed() returns trigger language plpgsql as $$
  begin
    perform gatehouse_notify_auth('all');
    return null;
  end $$`,
  sql`create or replace function gatehouse_sessions_changed() returns trigger language plpgsql as $$
  begin
    perform gatehouse_notify_auth('s:' || old.id);
    return null;
  end $$`,
  sql`create or replace function gatehouse_api_tokens_changed() returns trigger language plpgsql as $$
  begin
    perform gatehouse_notify_auth('t:' || old.id);
    return null;
  end $$`,
  sql`create or replace function gatehouse_keys_changed() returns trigger language plpgsql as $$
  begin
    perform gatehouse_notify_auth('keys');
    return null;
  end $$`,
]

const TRIGGERS = [
  sql`create trigger gatehouse_users_notify after update or delete on users
    for each row execute function gatehouse_users_changed()`,
  sql`create trigger gatehouse_user_groups_notify after insert or update or delete on user_groups
    for each row execute function gatehouse_user_groups_changed()`,
  sql`create trigger gatehouse_groups_notify after update or delete on groups
    for each statement execute function gatehouse_groups_changed()`,
  sql`create trigger gatehouse_sessions_notify after update or delete on sessions
    for each row execute function gatehouse_sessions_changed()`,
  sql`create trigger gatehouse_api_tokens_notify after update or delete on api_tokens
    for each row execute function gatehouse_api_tokens_changed()`,
  sql`create trigger gatehouse_keys_notify after insert or update or delete on signing_keys
    for each statement execute function gatehouse_keys_changed()`,
]

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of [...FUNCTIONS, ...TRIGGERS]) await statement.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [trigger, table] of [
    ['gatehouse_users_notify', 'users'],
    ['gatehouse_user_groups_notify', 'user_groups'],
    ['gatehouse_groups_notify', 'groups'],
    ['gatehouse_sessions_notify', 'sessions'],
    ['gatehouse_api_tokens_notify', 'api_tokens'],
    ['gatehouse_keys_notify', 'signing_keys'],
  ] as const) {
    await sql`drop trigger if exists ${sql.id(trigger)} on ${sql.table(table)}`.execute(db)
  }
  for (const fn of ['users', 'user_groups', 'groups', 'sessions', 'api_tokens', 'keys']) {
    await sql`drop function if exists ${sql.id(`gatehouse_${fn}_changed`)}()`.execute(db)
  }
  await sql`drop function if exists gatehouse_notify_auth(text)`.execute(db)
}
