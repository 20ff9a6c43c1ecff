import type { Migration } from 'kysely'

import * as m000001 from './2026_11_26_000001_create_auth_tables.js'
import * as m000002 from './2026_11_26_000002_seed_role_groups.js'

/** Every migration, keyed by name; names sort in the order they run. */
export const migrations: Record<string, Migration> = {
  '2026_11_26_000001_create_auth_tables': m000001,
  '2026_11_26_000002_seed_role_groups': m000002,
}
