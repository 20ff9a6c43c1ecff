import type { Kysely } from 'kysely'
import { sql } from 'kysely'

/**
 * Issue 16, item 2: secrets at rest.
 *
 * - signing_keys.private_jwk becomes text: it holds the private JWK encrypted (AES-256-GCM under a key
 *   derived from SECRET_KEY, `v1.<iv>.<ciphertext>.<tag>`). Encrypting needs the key, so rows still
 *   in clear (JSON text after this change) are encrypted by the server when it starts (and by
 *   `gatehouse encryptsecrets`), not here. oauth_secrets.secret is text already; the same applies.
 * - oauth_payloads ids become the hex SHA-256 of the provider's id, which for a refresh token, an
 *   authorization code, a session (the cookie's value), an interaction and the rest IS the credential.
 *   Grants keep theirs: a grant id is a reference (other rows' grant_id) that no endpoint accepts.
 *   The payload's copy of the id (`jti`) goes, and so does the session cookie an interaction records
 *   (`session.cookie`, which the provider never reads back). No key is needed, so it is done here.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table signing_keys alter column private_jwk type text using private_jwk::text`.execute(db)
  await sql`
    update oauth_payloads
    set id = encode(sha256(convert_to(id, 'UTF8')), 'hex'),
        payload = (payload - 'jti') #- '{session,cookie}'
    where model <> 'Grant'
  `.execute(db)
}

/**
 * Back to JSON keys, which works only while no key is encrypted yet (decrypt first otherwise). A
 * digest cannot be turned back into its token: those rows are deleted (their holders sign in again).
 */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table signing_keys alter column private_jwk type jsonb using private_jwk::jsonb`.execute(db)
  await db.deleteFrom('oauth_payloads').where('model', '<>', 'Grant').execute()
}
