/**
 * The private halves of signing keys are stored encrypted (crypto/secret-box.ts), bound to their kid.
 * `sealSigningKeys` brings the stored rows there: rows still in clear (written before encryption, or
 * restored from such a backup) are encrypted, and with `reencrypt` rows made under a fallback secret
 * key are encrypted again under the current one. Every row must open: one that does not stops here,
 * naming its kid, rather than at the first signature.
 */
import type { Db } from '@gatehouse/db'

import { SecretBox, SecretKeyError } from '../crypto/secret-box.js'
import { findSigningKeySecrets, updateSigningKeySecret, withSigningKeysLocked } from '../store/key.repository.js'

/** The additional data a private key is encrypted with: it opens in its own row only. */
export function signingKeyContext(kid: string): string {
  return `signing_keys:${kid}`
}

/** Whether a value stored in clear is a JSON object (a parse error's message would quote the secret). */
function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
  } catch {
    return false
  }
}

/** What a pass over stored secrets did. */
export interface SealCounts {
  /** Found in clear, now encrypted. */
  encrypted: number
  /** Found under a fallback secret key, now under the current one. */
  reencrypted: number
  /** Left as they were: under the current key (or, without `reencrypt`, a fallback). */
  unchanged: number
}

/**
 * Under the key lock, so processes starting together encrypt each row once.
 * @example
 * const counts = await sealSigningKeys(db, box, { reencrypt: true }) // gatehouse encryptsecrets
 */
export async function sealSigningKeys(db: Db, box: SecretBox, opts: { reencrypt?: boolean } = {}): Promise<SealCounts> {
  return withSigningKeysLocked(db, async (trx) => {
    const counts: SealCounts = { encrypted: 0, reencrypted: 0, unchanged: 0 }
    for (const row of await findSigningKeySecrets(trx)) {
      const context = signingKeyContext(row.kid)
      if (!SecretBox.isSealed(row.private_jwk)) {
        if (!isJsonObject(row.private_jwk)) {
          throw new SecretKeyError(`signing key "${row.kid}"`, 'it is neither encrypted nor a JSON key')
        }
        await updateSigningKeySecret(trx, row.kid, box.seal(row.private_jwk, context))
        counts.encrypted++
        continue
      }
      const { plaintext, stale } = box.open(row.private_jwk, context, `signing key "${row.kid}"`)
      if (stale && opts.reencrypt) {
        await updateSigningKeySecret(trx, row.kid, box.seal(plaintext, context))
        counts.reencrypted++
      } else {
        counts.unchanged++
      }
    }
    return counts
  })
}
