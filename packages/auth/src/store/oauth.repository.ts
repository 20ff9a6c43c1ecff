/** What the resource side reads of the authorization server's records (tokens/oauth-principal.ts). */
import type { Db } from '@gatehouse/db'

/**
 * The live record of an issued access token, by its payload id (tokens/oauth-payload-id.ts: the
 * same digest for either model); undefined once revoked or expired.
 */
export async function findIssuedAccessToken(db: Db, payloadId: string, now: Date) {
  return db
    .selectFrom('oauth_payloads')
    .select(['model', 'payload'])
    .where('model', 'in', ['AccessToken', 'ClientCredentials'])
    .where('id', '=', payloadId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst()
}

/** The client's service user: undefined for no such client, null for a client without one. */
export async function findServiceUserId(db: Db, clientId: string): Promise<number | null | undefined> {
  const row = await db
    .selectFrom('oauth_clients')
    .select('service_user_id')
    .where('id', '=', clientId)
    .executeTakeFirst()
  return row?.service_user_id
}
