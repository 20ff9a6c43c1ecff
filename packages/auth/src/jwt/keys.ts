/**
 * Signing keys. Asymmetric keys (EdDSA by default) are created on first start and kept in the
 * database, so every process signs with the same key and other services verify with the public
 * half from /.well-known/jwks.json. HS256 uses JWT_SECRET and publishes nothing.
 *
 * Private keys are stored encrypted (AES-256-GCM under a key derived from the server's secret key,
 * bound to the kid: crypto/secret-box.ts), so a copy of the database signs nothing. The kid is the
 * RFC 7638 thumbprint.
 */
import type { Db, SigningKey } from '@gatehouse/db'
import type { CryptoKey, JWK, JWTHeaderParameters } from 'jose'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose'

import type { Clock } from '../clock.js'
import type { SecretBox } from '../crypto/secret-box.js'
import { systemClock } from '../clock.js'
import { AuthError } from '../errors.js'
import { ensureSigningKey, findActiveSigningKeys, insertSigningKey, retireSigningKey } from '../store/key.repository.js'
import { sealSigningKeys, signingKeyContext } from './seal-keys.js'

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
  /** Encrypts and decrypts the stored private keys; required unless HS256. */
  secrets?: SecretBox | undefined
  /**
   * How old the key set may get before it is read again, so a key rotated or retired by another
   * process (the CLI, another server) reaches this one within this bound. Past half of it the set
   * is re-read in the background; a verification that finds it older than the whole waits for the
   * re-read, so a retired key never verifies here longer than this after its retirement.
   * @default 60_000
   */
  refreshIntervalMs?: number
  /** Milliseconds on a monotonic scale, for the refresh bookkeeping. @default performance.now */
  now?: () => number
  /** Wall time, for when a rotated key starts signing. @default systemClock */
  clock?: Clock | undefined
  /**
   * A rotated key is published (and verifies) at once and signs only this many seconds later, so
   * JWKS caches downstream hold it before any token names it (KEY_ACTIVATION_DELAY).
   * @default 0
   */
  activationDelaySeconds?: number | undefined
}

interface LoadedKey {
  kid: string
  /** Signs (private key, or the HS256 secret). */
  key: CryptoKey | Uint8Array
  /** Verifies (public key, or the HS256 secret). */
  verifyKey: CryptoKey | Uint8Array
  publicJwk: JWK | null
  /** The private JWK, for the OAuth server (which signs with JWKs); null for HS256. */
  privateJwk: JWK | null
  /** From when it signs, in epoch milliseconds. */
  activatesAtMs: number
}

async function generateSigningKey(algorithm: Exclude<JwtAlgorithm, 'HS256'>, box: SecretBox) {
  for (;;) {
    const { publicKey, privateKey } = await generateKeyPair(
      algorithm,
      algorithm === 'EdDSA' ? { extractable: true, crv: 'Ed25519' } : { extractable: true },
    )
    const publicJwk = await exportJWK(publicKey)
    // The kid is the JWK thumbprint (base64url). One starting with '-' reads as an option to
    // `gatehouse retirekey KID` (CI hit it), so such a key is thrown away and another made.
    const kid = await calculateJwkThumbprint(publicJwk)
    if (/^[-_]/.test(kid)) continue
    return {
      kid,
      algorithm,
      public_jwk: JSON.stringify({ ...publicJwk, kid, alg: algorithm, use: 'sig' }),
      private_jwk: box.seal(JSON.stringify(await exportJWK(privateKey)), signingKeyContext(kid)),
    }
  }
}

export class KeyRing {
  readonly algorithm: JwtAlgorithm
  readonly #db: Db
  readonly #secret: Uint8Array | null
  readonly #box: SecretBox | null
  /** Newest first, as read: the newest active one signs (see `signingKey`). */
  #loaded: LoadedKey[] = []
  #verifying = new Map<string, LoadedKey>()
  readonly #refreshIntervalMs: number
  readonly #now: () => number
  readonly #clock: Clock
  readonly #activationDelayMs: number
  /** When the last reload started (its rows are at least that fresh). */
  #loadedAt = Number.NEGATIVE_INFINITY
  #reloading: Promise<void> | null = null
  /** Bumped by `invalidate()`: a read that started before it does not count as fresh. */
  #invalidations = 0
  /** The `#invalidations` count when the read in flight was started. */
  #reloadingFor = 0

  constructor(opts: KeyRingOptions) {
    this.algorithm = opts.algorithm
    this.#db = opts.db
    this.#refreshIntervalMs = opts.refreshIntervalMs ?? 60_000
    this.#now = opts.now ?? (() => performance.now())
    this.#clock = opts.clock ?? systemClock
    this.#activationDelayMs = (opts.activationDelaySeconds ?? 0) * 1000
    if (!(this.#activationDelayMs >= 0)) throw new TypeError('KeyRing: activationDelaySeconds must not be negative')
    if (!(this.#refreshIntervalMs > 0)) throw new TypeError('KeyRing: refreshIntervalMs must be positive')
    if (opts.algorithm === 'HS256') {
      if (!opts.secret) throw new TypeError('HS256 needs a secret (JWT_SECRET)')
      this.#secret = new TextEncoder().encode(opts.secret)
      this.#box = null
    } else {
      if (!opts.secrets) throw new TypeError(`${opts.algorithm} keys are stored encrypted: KeyRing needs secrets`)
      this.#secret = null
      this.#box = opts.secrets
    }
  }

  #requireBox(): SecretBox {
    if (!this.#box) throw new TypeError('HS256 keys come from JWT_SECRET and are not stored')
    return this.#box
  }

  /**
   * Loads the keys, creating the first one if the database has none. Call once at start. Stored
   * keys still in clear are encrypted first, and one the secret key does not open stops the start.
   */
  async init(): Promise<void> {
    if (this.#secret) {
      const key = { kid: HS256_KID, key: this.#secret, verifyKey: this.#secret, publicJwk: null, privateJwk: null, activatesAtMs: 0 }
      this.#loaded = [key]
      this.#verifying = new Map([[HS256_KID, key]])
      return
    }
    const algorithm = this.algorithm as Exclude<JwtAlgorithm, 'HS256'>
    const box = this.#requireBox()
    await sealSigningKeys(this.#db, box)
    // The first key signs at once: there is nothing older for JWKS caches to hold meanwhile.
    await ensureSigningKey(this.#db, algorithm, async () => ({
      ...(await generateSigningKey(algorithm, box)),
      activates_at: this.#clock(),
    }))
    await this.reload()
  }

  /** Re-reads the active keys: the newest signs, all of them verify. One read at a time. */
  reload(): Promise<void> {
    if (this.#secret) return Promise.resolve()
    // A read already in flight is joined only if it started after the last `invalidate()`: one
    // that started before may return the keys as they were, a retired one included.
    if (this.#reloading && this.#reloadingFor === this.#invalidations) return this.#reloading
    const previous = this.#reloading ?? Promise.resolve()
    const reading: Promise<void> = previous
      .catch(() => undefined)
      .then(() => this.#read())
      .finally(() => {
        if (this.#reloading === reading) this.#reloading = null
      })
    this.#reloading = reading
    this.#reloadingFor = this.#invalidations
    return reading
  }

  async #read(): Promise<void> {
    const startedAt = this.#now()
    const invalidations = this.#invalidations
    const rows = await findActiveSigningKeys(this.#db, this.algorithm)
    const loaded = await Promise.all(rows.map((row) => this.#load(row)))
    this.#verifying = new Map(loaded.map((k) => [k.kid, k]))
    this.#loaded = loaded
    if (invalidations === this.#invalidations) this.#loadedAt = startedAt
  }

  /**
   * The keys changed in the database (another process rotated or retired one; the auth cache hears
   * it through NOTIFY): the next verification or signing waits for a fresh read.
   */
  invalidate(): void {
    this.#invalidations++
    this.#loadedAt = Number.NEGATIVE_INFINITY
  }

  /**
   * Keeps the key set within `refreshIntervalMs` of the database: a background re-read past half
   * the interval, so a busy process never waits; a re-read to wait for past the whole interval
   * (only after a quiet spell), so a retired key cannot slip through on stale memory.
   */
  async #fresh(): Promise<void> {
    if (this.#secret) return
    const age = this.#now() - this.#loadedAt
    if (age >= this.#refreshIntervalMs) return this.reload()
    if (age >= this.#refreshIntervalMs / 2) this.reload().catch(() => undefined) // retried on the next call
  }

  async #load(row: SigningKey): Promise<LoadedKey> {
    const publicJwk = row.public_jwk as JWK
    const { plaintext } = this.#requireBox().open(
      row.private_jwk,
      signingKeyContext(row.kid),
      `signing key "${row.kid}"`,
    )
    const privateJwk = JSON.parse(plaintext) as JWK
    return {
      kid: row.kid,
      key: (await importJWK(privateJwk, this.algorithm)) as CryptoKey,
      verifyKey: (await importJWK(publicJwk, this.algorithm)) as CryptoKey,
      publicJwk,
      privateJwk,
      activatesAtMs: row.activates_at.getTime(),
    }
  }

  /**
   * The key new tokens are signed with, as last read (see `currentSigningKey`): the newest whose
   * activation time has come. Chosen at each call from the stored times, so every process
   * switches at the same moment without a re-read. When none has come (the signing key was
   * retired while its successor was pending), the earliest pending one signs: something must.
   */
  signingKey(): LoadedKey {
    const nowMs = this.#clock().getTime()
    const active = this.#loaded.find((k) => k.activatesAtMs <= nowMs)
    const pending = this.#loaded.reduce<LoadedKey | undefined>(
      (earliest, k) => (earliest && earliest.activatesAtMs <= k.activatesAtMs ? earliest : k),
      undefined,
    )
    const key = active ?? pending
    if (!key) throw new TypeError('KeyRing.init() has not run, or every key is retired')
    return key
  }

  /**
   * The signing key, kept within `refreshIntervalMs` of the database like verification keys: a
   * key rotated in or retired by another process signs here no longer than that.
   */
  async currentSigningKey(): Promise<LoadedKey> {
    await this.#fresh()
    return this.signingKey()
  }

  /** jose key resolver: finds the key named by the token's kid. */
  readonly resolve = async (header: JWTHeaderParameters): Promise<CryptoKey | Uint8Array> => {
    const kid = header.kid ?? (this.#secret ? HS256_KID : undefined)
    if (!kid) throw new KeyNotFoundError()
    await this.#fresh()
    let found = this.#verifying.get(kid)
    if (!found && !this.#secret && this.#now() - this.#loadedAt > RELOAD_INTERVAL_MS) {
      await this.reload()
      found = this.#verifying.get(kid)
    }
    if (!found) throw new KeyNotFoundError()
    return found.verifyKey
  }

  /** The public keys, as published at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    this.#fresh().catch(() => undefined) // never waits: the answer is cached by its readers anyway
    return { keys: [...this.#verifying.values()].flatMap((k) => (k.publicJwk ? [k.publicJwk] : [])) }
  }

  /**
   * The private JWKs of the keys in memory, the signing one first: the OAuth server signs with the
   * first and publishes the public halves of all.
   */
  privateJwks(): JWK[] {
    const signing = this.signingKey()
    const others = [...this.#verifying.values()].filter((k) => k.kid !== signing.kid)
    return [signing, ...others].flatMap((k) => (k.privateJwk ? [{ ...k.privateJwk, kid: k.kid }] : []))
  }

  /**
   * Adds a new signing key: published (and verifying) at once, signing from `activationDelaySeconds`
   * later; older keys keep verifying until retired.
   */
  async rotate(): Promise<string> {
    if (this.#secret) throw new TypeError('HS256 keys come from JWT_SECRET and cannot be rotated here')
    const key = await generateSigningKey(this.algorithm as Exclude<JwtAlgorithm, 'HS256'>, this.#requireBox())
    const activatesAt = new Date(this.#clock().getTime() + this.#activationDelayMs)
    const row = await insertSigningKey(this.#db, { ...key, activates_at: activatesAt })
    await this.#reloadAfterChange()
    return row.kid
  }

  /**
   * Retires a key: from now on it neither signs nor verifies, here at once and in every other
   * process within `refreshIntervalMs`. The last active key of the algorithm cannot be retired
   * (nothing would sign); rotate first.
   */
  async retire(kid: string): Promise<void> {
    if (this.#secret) throw new TypeError('HS256 keys come from JWT_SECRET and cannot be retired here')
    const outcome = await retireSigningKey(this.#db, { kid, algorithm: this.algorithm })
    if (outcome === 'unknown') throw new AuthError('NOT_FOUND', { message: `No signing key "${kid}".` })
    if (outcome === 'already_retired') {
      throw new AuthError('NOT_FOUND', { message: `Signing key "${kid}" is already retired.` })
    }
    if (outcome === 'last') {
      throw new AuthError('INVALID_INPUT', {
        message: `Signing key "${kid}" is the only active key; run rotatekeys first, then retire it.`,
      })
    }
    await this.#reloadAfterChange()
  }

  /** A read already in flight may predate our change: wait it out, then read again. */
  async #reloadAfterChange(): Promise<void> {
    await this.#reloading?.catch(() => undefined)
    await this.reload()
  }
}

export class KeyNotFoundError extends Error {
  override readonly name = 'KeyNotFoundError'
  constructor() {
    super('no key matches the token')
  }
}
