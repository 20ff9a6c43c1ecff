/**
 * Signing keys. Asymmetric keys (EdDSA by default) are created on first start and kept in the
 * database, so every process signs with the same key and other services verify with the public
 * half from /.well-known/jwks.json. HS256 uses JWT_SECRET and publishes nothing.
 *
 * Private keys sit in the database as JWKs: whoever can read the database can mint tokens, which
 * is already true of whoever can write the users table. The kid is the RFC 7638 thumbprint.
 */
import type { Db, SigningKey } from '@gatehouse/db'
import type { CryptoKey, JWK, JWTHeaderParameters } from 'jose'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose'

import { ensureSigningKey, findActiveSigningKeys, insertSigningKey } from '../store/key.repository.js'

export const JWT_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'HS256'] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]

const HS256_KID = 'hs256'
// An unknown kid triggers a reload (a key rotated by another process), at most this often, so a
// flood of forged kids cannot turn into a flood of queries.
const RELOAD_INTERVAL_MS = 5_000

export interface KeyRingOptions {
  db: Db
  algorithm: JwtAlgorithm
  /** Required for HS256, ignored otherwise. */
  secret?: string | undefined
}

interface LoadedKey {
  kid: string
  /** Signs (private key, or the HS256 secret). */
  key: CryptoKey | Uint8Array
  /** Verifies (public key, or the HS256 secret). */
  verifyKey: CryptoKey | Uint8Array
  publicJwk: JWK | null
}

async function generateSigningKey(algorithm: Exclude<JwtAlgorithm, 'HS256'>) {
  const { publicKey, privateKey } = await generateKeyPair(
    algorithm,
    algorithm === 'EdDSA' ? { extractable: true, crv: 'Ed25519' } : { extractable: true },
  )
  const publicJwk = await exportJWK(publicKey)
  const privateJwk = await exportJWK(privateKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  return {
    kid,
    algorithm,
    public_jwk: JSON.stringify({ ...publicJwk, kid, alg: algorithm, use: 'sig' }),
    private_jwk: JSON.stringify(privateJwk),
  }
}

export class KeyRing {
  readonly algorithm: JwtAlgorithm
  readonly #db: Db
  readonly #secret: Uint8Array | null
  #signing: LoadedKey | null = null
  #verifying = new Map<string, LoadedKey>()
  #lastLoad = 0

  constructor(opts: KeyRingOptions) {
    this.algorithm = opts.algorithm
    this.#db = opts.db
    if (opts.algorithm === 'HS256') {
      if (!opts.secret) throw new TypeError('HS256 needs a secret (JWT_SECRET)')
      this.#secret = new TextEncoder().encode(opts.secret)
    } else {
      this.#secret = null
    }
  }

  /** Loads the keys, creating the first one if the database has none. Call once at start. */
  async init(): Promise<void> {
    if (this.#secret) {
      const key = { kid: HS256_KID, key: this.#secret, verifyKey: this.#secret, publicJwk: null }
      this.#signing = key
      this.#verifying = new Map([[HS256_KID, key]])
      return
    }
    const algorithm = this.algorithm as Exclude<JwtAlgorithm, 'HS256'>
    await ensureSigningKey(this.#db, algorithm, () => generateSigningKey(algorithm))
    await this.reload()
  }

  /** Re-reads the active keys: the newest signs, all of them verify. */
  async reload(): Promise<void> {
    if (this.#secret) return
    this.#lastLoad = Date.now()
    const rows = await findActiveSigningKeys(this.#db, this.algorithm)
    const loaded = await Promise.all(rows.map((row) => this.#load(row)))
    this.#verifying = new Map(loaded.map((k) => [k.kid, k]))
    this.#signing = loaded[0] ?? null
  }

  async #load(row: SigningKey): Promise<LoadedKey> {
    const publicJwk = row.public_jwk as JWK
    return {
      kid: row.kid,
      key: (await importJWK(row.private_jwk as JWK, this.algorithm)) as CryptoKey,
      verifyKey: (await importJWK(publicJwk, this.algorithm)) as CryptoKey,
      publicJwk,
    }
  }

  signingKey(): LoadedKey {
    if (!this.#signing) throw new TypeError('KeyRing.init() has not run, or every key is retired')
    return this.#signing
  }

  /** jose key resolver: finds the key named by the token's kid. */
  readonly resolve = async (header: JWTHeaderParameters): Promise<CryptoKey | Uint8Array> => {
    const kid = header.kid ?? (this.#secret ? HS256_KID : undefined)
    if (!kid) throw new KeyNotFoundError()
    let found = this.#verifying.get(kid)
    if (!found && !this.#secret && Date.now() - this.#lastLoad > RELOAD_INTERVAL_MS) {
      await this.reload()
      found = this.#verifying.get(kid)
    }
    if (!found) throw new KeyNotFoundError()
    return found.verifyKey
  }

  /** The public keys, as published at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.#verifying.values()].flatMap((k) => (k.publicJwk ? [k.publicJwk] : [])) }
  }

  /** Adds a new signing key; older keys keep verifying until retired. */
  async rotate(): Promise<string> {
    if (this.#secret) throw new TypeError('HS256 keys come from JWT_SECRET and cannot be rotated here')
    const row = await insertSigningKey(this.#db, await generateSigningKey(this.algorithm as Exclude<JwtAlgorithm, 'HS256'>))
    await this.reload()
    return row.kid
  }
}

export class KeyNotFoundError extends Error {
  override readonly name = 'KeyNotFoundError'
  constructor() {
    super('no key matches the token')
  }
}
