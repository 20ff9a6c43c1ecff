/**
 * The user's DRF key, as DRF's `Token.objects.get_or_create` gives it (tokens/drf-token.ts): derived
 * from the user's nonce, and stored as its digest unless it already is.
 */
import type { Db } from '@gatehouse/db'

import { AuthError } from '../errors.js'
import { findDefaultApiToken, lockDrfKeyNonce, upsertDefaultApiToken } from '../store/api-token.repository.js'
import { verifyApiTokenSecret } from './api-token.js'
import { deriveDrfToken, drfTokenRow } from './drf-token.js'

export interface ObtainDrfTokenOptions {
  userId: number
  /** The HMAC keys, SECRET_KEY's first, then its fallbacks' (`secrets.derive(DRF_TOKEN_PURPOSE)`). */
  hmacKeys: readonly Buffer[]
  /** `created_at` of a row written now. */
  now: Date
}

/**
 * Under a share lock on the user's row, so a revocation (which replaces the nonce) is never
 * overtaken by a login storing the key it just revoked. A stored key derived under a fallback key
 * is answered as it is: changing SECRET_KEY changes nobody's key while the old one is listed.
 * `created`: a row was written (the key is new, or replaced one no secret key derives any more).
 * @example
 * const { key } = await obtainDrfToken(db, { userId, hmacKeys: secrets.derive(DRF_TOKEN_PURPOSE), now: clock() })
 */
export async function obtainDrfToken(
  db: Db,
  opts: ObtainDrfTokenOptions,
): Promise<{ key: string; id: string; created: boolean }> {
  const { userId } = opts
  return db.transaction().execute(async (trx) => {
    const nonce = await lockDrfKeyNonce(trx, userId, 'share')
    if (nonce === undefined) throw new AuthError('INVALID_CREDENTIALS') // deleted since the password check
    const candidates = opts.hmacKeys.map((hmacKey) => deriveDrfToken(hmacKey, { userId, nonce }))
    const existing = await findDefaultApiToken(trx, userId)
    const kept =
      existing &&
      candidates.find((key) => drfTokenRow(key).id === existing.id && verifyApiTokenSecret(key, existing.secret_hash))
    if (existing && kept) return { key: kept, id: existing.id, created: false }
    const key = candidates[0]
    if (key === undefined) throw new TypeError('obtainDrfToken: no HMAC key')
    const row = drfTokenRow(key)
    await upsertDefaultApiToken(trx, {
      id: row.id,
      user_id: userId,
      name: 'default',
      secret_hash: row.secretHash,
      created_at: opts.now,
      expires_at: null,
    })
    return { key, id: row.id, created: true }
  })
}
