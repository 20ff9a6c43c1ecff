/**
 * Secrets at rest (private signing keys, the OAuth server's cookie and CSRF keys): AES-256-GCM under
 * a key-encryption key derived from the server's secret key (SECRET_KEY), so a backup, a replica or
 * a read-only SQL injection yields ciphertext, not the power to sign.
 *
 * - Key: HKDF-SHA256 of the secret key with a purpose label; each purpose (this box, the DRF token
 *   HMAC) gets its own sub-key, so no key serves two purposes.
 * - Format: `v1.<iv>.<ciphertext>.<tag>`, base64url, a fresh 96-bit random IV per encryption. The
 *   version lets the scheme change later; the key is found by trying the current one, then the
 *   fallbacks (Django's SECRET_KEY_FALLBACKS), so a key can be replaced without downtime.
 * - Additional data: each ciphertext is bound to its row (`signing_keys:<kid>`, `oauth_secrets:<name>`):
 *   one copied onto another row does not decrypt.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32
const SALT = 'gatehouse'
/** The HKDF label of the box's own key; other purposes pass their own to `derive`. */
const BOX_PURPOSE = 'gatehouse secret-box v1'
const SEALED = /^v1\.([\w-]{16})\.([\w-]*)\.([\w-]{22})$/

/** The fewest characters a secret key may have (the server says so when SECRET_KEY is shorter). */
export const MIN_SECRET_KEY_LENGTH = 32

/**
 * A stored secret that none of the keys opens: it was encrypted under another secret key, or
 * altered, or moved from another row. `what` names the row (`signing key "<kid>"`).
 */
export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError'
  readonly what: string
  constructor(what: string, reason = 'it was encrypted under another secret key, or altered') {
    super(`cannot decrypt ${what}: ${reason}`)
    this.what = what
  }
}

export interface SecretBoxOptions {
  /** The current secret key: new ciphertexts are made under it. At least 32 characters. */
  secretKey: string
  /**
   * Earlier secret keys, still tried when opening (Django's SECRET_KEY_FALLBACKS); re-encrypt under
   * the current one, then drop them.
   * @default []
   */
  fallbacks?: readonly string[] | undefined
}

function hkdf(secretKey: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, SALT, purpose, KEY_BYTES))
}

/** What `open` found: the plaintext, and whether it was made under a fallback key (re-encrypt it). */
export interface Opened {
  plaintext: string
  stale: boolean
}

/**
 * @example
 * const box = new SecretBox({ secretKey: config.secretKey })
 * const sealed = box.seal(JSON.stringify(privateJwk), `signing_keys:${kid}`)
 * const { plaintext } = box.open(sealed, `signing_keys:${kid}`)
 */
export class SecretBox {
  readonly #secretKeys: readonly string[]
  readonly #keys: readonly Buffer[]

  constructor(opts: SecretBoxOptions) {
    const all = [opts.secretKey, ...(opts.fallbacks ?? [])]
    for (const key of all) {
      if (typeof key !== 'string' || key.length < MIN_SECRET_KEY_LENGTH) {
        throw new TypeError(`SecretBox: a secret key must be at least ${MIN_SECRET_KEY_LENGTH} characters`)
      }
    }
    this.#secretKeys = all
    this.#keys = all.map((key) => hkdf(key, BOX_PURPOSE))
  }

  /** Whether a stored value is in this box's format (as opposed to a secret stored in clear). */
  static isSealed(value: string): boolean {
    return SEALED.test(value)
  }

  /** Encrypts under the current key, bound to `context` (the row it is stored in). */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#keys[0] as Buffer, iv, { authTagLength: TAG_BYTES })
    cipher.setAAD(Buffer.from(context, 'utf8'))
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    const parts = [iv, ciphertext, cipher.getAuthTag()].map((b) => b.toString('base64url'))
    return `${VERSION}.${parts.join('.')}`
  }

  /**
   * Decrypts what `seal` made for the same `context`, under the current key or a fallback; throws
   * SecretKeyError (naming `what`) when none opens it.
   */
  open(sealed: string, context: string, what = 'a stored secret'): Opened {
    const match = SEALED.exec(sealed)
    if (!match) throw new SecretKeyError(what, 'it is not in the encrypted format')
    const [iv, ciphertext, tag] = [match[1], match[2], match[3]].map((part) => Buffer.from(part ?? '', 'base64url'))
    for (const [index, key] of this.#keys.entries()) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv as Buffer, { authTagLength: TAG_BYTES })
        decipher.setAAD(Buffer.from(context, 'utf8'))
        decipher.setAuthTag(tag as Buffer)
        const plaintext = Buffer.concat([decipher.update(ciphertext as Buffer), decipher.final()]).toString('utf8')
        return { plaintext, stale: index > 0 }
      } catch {
        // not this key: try the next
      }
    }
    throw new SecretKeyError(what)
  }

  /**
   * Sub-keys for another purpose (an HMAC), one per secret key, the current one first. The label
   * keeps them apart from the box's own key and from each other.
   * @example const [current, ...older] = box.derive('gatehouse drf-token v1')
   */
  derive(purpose: string): Buffer[] {
    if (purpose === BOX_PURPOSE) throw new TypeError('SecretBox.derive: that label is the key of the box itself')
    return this.#secretKeys.map((key) => hkdf(key, purpose))
  }
}
