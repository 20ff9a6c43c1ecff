import type { Migration } from 'kysely'

import * as m000001 from './2026_11_26_000001_create_auth_tables.js'
import * as m000002 from './2026_11_26_000002_seed_role_groups.js'
import * as m000003 from './2026_11_26_000003_permissions_and_articles.js'
import * as m000004 from './2026_11_26_000004_create_throttle_counters.js'
import * as m000005 from './2026_11_26_000005_create_api_tokens.js'
import * as m000006 from './2026_11_26_000006_sessions_audit_epoch.js'
import * as m000007 from './2026_11_26_000007_audit_permission.js'
import * as m000008 from './2026_11_26_000008_api_token_expiry_index.js'
import * as m000009 from './2026_11_26_000009_oauth.js'
import * as m000010 from './2026_11_26_000010_auth_cache_notify.js'
import * as m000011 from './2026_12_04_000011_secrets_at_rest.js'
import * as m000012 from './2026_12_04_000012_refresh_reuse.js'
import * as m000013 from './2026_12_04_000013_oauth_resource_servers.js'
import * as m000014 from './2026_12_04_000014_drf_token_keys.js'
import * as m000015 from './2026_12_04_000015_key_activation.js'

/** Every migration, keyed by name; names sort in the order they run. */
export const migrations: Record<string, Migration> = {
  '2026_11_26_000001_create_auth_tables': m000001,
  '2026_11_26_000002_seed_role_groups': m000002,
  '2026_11_26_000003_permissions_and_articles': m000003,
  '2026_11_26_000004_create_throttle_counters': m000004,
  '2026_11_26_000005_create_api_tokens': m000005,
  '2026_11_26_000006_sessions_audit_epoch': m000006,
  '2026_11_26_000007_audit_permission': m000007,
  '2026_11_26_000008_api_token_expiry_index': m000008,
  '2026_11_26_000009_oauth': m000009,
  '2026_11_26_000010_auth_cache_notify': m000010,
  '2026_12_04_000011_secrets_at_rest': m000011,
  '2026_12_04_000012_refresh_reuse': m000012,
  '2026_12_04_000013_oauth_resource_servers': m000013,
  '2026_12_04_000014_drf_token_keys': m000014,
  '2026_12_04_000015_key_activation': m000015,
}
