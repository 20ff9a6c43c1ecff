/**
 * Every secret the server keeps in the database, encrypted under SECRET_KEY: the signing keys'
 * private halves (@gatehouse/auth) and the OAuth server's cookie and CSRF keys (oauth-core/secret.ts).
 * One pass over both, for `gatehouse encryptsecrets` and for a clustered server's primary, which
 * checks them once before it starts any worker.
 */
import type { SealCounts } from '@gatehouse/auth'
import { SecretBox, sealSigningKeys } from '@gatehouse/auth'
import type { Db } from '@gatehouse/db'

import type { ConfigWithSecretKey } from './secret-key.js'
import { sealOAuthSecrets } from './oauth-core/secret.js'

export function secretBoxFor(config: ConfigWithSecretKey): SecretBox {
  return new SecretBox({ secretKey: config.secretKey, fallbacks: config.secretKeyFallbacks })
}

/**
 * Encrypts what is still in clear and, with `reencrypt`, re-encrypts under SECRET_KEY what a
 * SECRET_KEY_FALLBACKS key encrypted. Throws SecretKeyError when a secret opens under none of them.
 */
export async function sealStoredSecrets(
  db: Db,
  box: SecretBox,
  opts: { reencrypt?: boolean } = {},
): Promise<{ signingKeys: SealCounts; oauthSecrets: SealCounts }> {
  return { signingKeys: await sealSigningKeys(db, box, opts), oauthSecrets: await sealOAuthSecrets(db, box, opts) }
}
