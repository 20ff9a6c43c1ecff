/** Which grant an authorization request reuses, so a user is not asked again for what they allowed. */
import type { Db } from '@gatehouse/db'
import { sql } from 'kysely'
import type { KoaContextWithOIDC } from 'oidc-provider'

/**
 * Remembered grants: the one this browser session used, else the newest live grant the user gave
 * this client (a new login does not ask again for what was already allowed).
 */
export function existingGrantLoader(db: Db) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC) {
    const { oidc } = ctx
    const client = oidc.client
    if (!client) return undefined
    const sessionGrant = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(client.clientId)
    if (sessionGrant) {
      const grant = await oidc.provider.Grant.find(sessionGrant)
      if (grant) return grant
    }
    const accountId = oidc.session?.accountId
    if (!accountId) return undefined
    const row = await db
      .selectFrom('oauth_payloads')
      .select('id')
      .where('model', '=', 'Grant')
      .where(sql<string>`payload->>'accountId'`, '=', accountId)
      .where(sql<string>`payload->>'clientId'`, '=', client.clientId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
      .orderBy('expires_at', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row ? oidc.provider.Grant.find(row.id) : undefined
  }
}
