/**
 * Password hashes, stored in Django's `<algorithm>$<data>` format so users imported from a Django
 * database keep their passwords.
 *
 * - New hashes are `bcrypt_sha256$<bcrypt hash>` (Django's BCryptSHA256PasswordHasher): bcrypt
 *   only reads the first 72 bytes of its input, so the password is SHA-256'd (hex, 64 bytes) first
 *   and two long passwords sharing a 72-byte prefix can never share a hash.
 * - `pbkdf2_sha256$<iterations>$<salt>$<base64>` (Django's default) is verified but never written:
 *   a successful login reports `needsRehash` so the caller moves the user to bcrypt.
 * - Every path that can't compare against a real hash (unknown user, unknown or corrupt format)
 *   still runs one bcrypt compare at the configured cost, so response time doesn't tell an
 *   attacker which usernames exist or which rows hold odd data.
 * - Only bcrypt's async API is used: it runs on libuv's thread pool, so a login never blocks the
 *   event loop for the ~250 ms a production cost takes. Every hash and check waits for one of
 *   `passwordHashSlots` (limiter.ts), so hashing never holds every thread of that shared pool.
 *   Checks (logins) go before new hashes (registrations, password changes), and a job that
 *   would wait past `setPasswordHashMaxWait` is refused at once: 503 UNAVAILABLE, Retry-After.
 * - Every failed check takes as long as the slowest kind of hash this process has checked
 *   (failure-floor.ts): an imported PBKDF2 user and an unknown name fail in the same time.
 */
import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'

import bcrypt from 'bcrypt'

import { AuthError } from '../errors.js'
import { FailureFloor } from './failure-floor.js'
import type { SlotPriority } from './limiter.js'
import { passwordHashSlots, QueueFullError } from './limiter.js'

const pbkdf2Async = promisify(pbkdf2)

const BCRYPT_SHA256_PREFIX = 'bcrypt_sha256$'
const PBKDF2_SHA256_ALGORITHM = 'pbkdf2_sha256'
// Modular-crypt bcrypt: $2a$/$2b$/$2y$, cost 04–31, 22 salt + 31 hash characters.
const BCRYPT_HASH_PATTERN = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/
const PBKDF2_KEY_LENGTH_BYTES = 32
// node:crypto rejects iteration counts above int32; anything bigger is a corrupt row.
const PBKDF2_MAX_ITERATIONS = 2 ** 31 - 1
const DUMMY_PASSWORD = 'gatehouse-dummy-password'

let maxWaitMs = Infinity

/**
 * The longest a password hash or check may expect to wait for a slot before it is refused with
 * UNAVAILABLE (the server's PASSWORD_HASH_MAX_WAIT). Unbounded until set.
 *
 * @example
 * setPasswordHashMaxWait(5000)
 */
export function setPasswordHashMaxWait(ms: number): void {
  if (!(ms > 0)) throw new TypeError(`a wait bound must be a positive number of milliseconds, got ${String(ms)}`)
  maxWaitMs = ms
}

/** A bcrypt or PBKDF2 job in a slot: checks (`high`) go before new hashes (`low`). */
/** A check in a slot, with the time it computed (not the time it queued). */
function timedInSlot<T>(job: () => Promise<T>): Promise<{ value: T; ms: number }> {
  return inSlot('high', async () => {
    const started = performance.now()
    const value = await job()
    return { value, ms: performance.now() - started }
  })
}

/** Records a check's time; after a failure, waits until it has taken as long as the slowest kind. */
async function settle(valid: boolean, check: { kind: string; ms: number; floor: FailureFloor | undefined }) {
  const floor = check.floor ?? passwordFailureFloor
  if (valid) floor.record(check.kind, check.ms)
  else await floor.failed(check.kind, check.ms)
}

async function inSlot<T>(priority: SlotPriority, job: () => Promise<T>): Promise<T> {
  try {
    return await passwordHashSlots.run(job, { priority, maxWaitMs })
  } catch (error) {
    if (!(error instanceof QueueFullError)) throw error
    const seconds = error.retryAfterSeconds
    const message = `The server is busy; try again in ${seconds} second${seconds === 1 ? '' : 's'}.`
    throw new AuthError('UNAVAILABLE', { message, retryAfterSeconds: seconds })
  }
}

export type PasswordHashOptions = {
  /**
   * bcrypt cost (log2 of the rounds), 4–31. Stored hashes with another cost verify fine and
   * report `needsRehash`, so raising it upgrades users as they log in.
   */
  cost: number
  /** Where failed checks are measured and padded. @default passwordFailureFloor */
  floor?: FailureFloor | undefined
}

/** Every failed check of this process is padded to the same time here (see failure-floor.ts). */
export const passwordFailureFloor = new FailureFloor()

export type PasswordVerification = {
  valid: boolean
  /**
   * The hash should be replaced by `hashPassword(password, opts)`: it uses another algorithm or
   * cost. Always `false` when `valid` is `false`, since only a correct password can be rehashed.
   */
  needsRehash: boolean
}

const INVALID: PasswordVerification = { valid: false, needsRehash: false }

/**
 * Hashes a password as Django's `bcrypt_sha256$…` (SHA-256 hex digest, then bcrypt).
 *
 * @example
 * const encoded = await hashPassword('correct horse battery staple', { cost: 12 })
 * // 'bcrypt_sha256$$2b$12$…'
 */
export async function hashPassword(password: string, opts: PasswordHashOptions): Promise<string> {
  assertCost(opts.cost)
  const hashed = await inSlot('low', () => bcrypt.hash(sha256Hex(password), opts.cost))
  return BCRYPT_SHA256_PREFIX + hashed
}

/**
 * Checks a password against a stored `bcrypt_sha256$…` or `pbkdf2_sha256$…` hash. Never throws for
 * a bad stored value: an unknown or corrupt format is simply not valid.
 *
 * @example
 * const { valid, needsRehash } = await verifyPassword(password, user.password, { cost: 12 })
 * if (valid && needsRehash) await updatePassword(db, user.id, await hashPassword(password, { cost: 12 }))
 */
export async function verifyPassword(
  password: string,
  encoded: string,
  opts: PasswordHashOptions,
): Promise<PasswordVerification> {
  assertCost(opts.cost)
  if (encoded.startsWith(BCRYPT_SHA256_PREFIX)) {
    const bcryptHash = encoded.slice(BCRYPT_SHA256_PREFIX.length)
    // bcrypt.compare answers `false` at once for a malformed hash; go through the dummy instead
    // so a corrupt row costs the same time as a wrong password.
    if (!BCRYPT_HASH_PATTERN.test(bcryptHash)) return invalidAfterDummy(password, opts)
    const { value: valid, ms } = await timedInSlot(() => bcrypt.compare(sha256Hex(password), bcryptHash))
    const rounds = bcrypt.getRounds(bcryptHash)
    await settle(valid, { kind: `bcrypt$${rounds}`, ms, floor: opts.floor })
    return { valid, needsRehash: valid && rounds !== opts.cost }
  }
  if (encoded.startsWith(`${PBKDF2_SHA256_ALGORITHM}$`)) {
    const parsed = parsePbkdf2(encoded)
    if (!parsed) return invalidAfterDummy(password, opts)
    const { value: derived, ms } = await timedInSlot(() =>
      pbkdf2Async(
        Buffer.from(password, 'utf8'),
        Buffer.from(parsed.salt, 'utf8'),
        parsed.iterations,
        PBKDF2_KEY_LENGTH_BYTES,
        'sha256',
      ),
    )
    const valid = timingSafeEqual(derived, parsed.hash)
    await settle(valid, { kind: `${PBKDF2_SHA256_ALGORITHM}$${parsed.iterations}`, ms, floor: opts.floor })
    // Imported Django users move to bcrypt on their first successful login.
    return { valid, needsRehash: valid }
  }
  return invalidAfterDummy(password, opts)
}

/**
 * Whether `verifyPassword` can check a password against `encoded`: a well-formed
 * `bcrypt_sha256$…` or `pbkdf2_sha256$…` hash. Anything else (argon2, md5, Django's unusable
 * `!…`, a corrupt row) can never verify.
 *
 * @example
 * isVerifiableHash('pbkdf2_sha256$260000$seasalt$YlZ2…') // true
 * isVerifiableHash('argon2$argon2id$v=19$…') // false
 */
export function isVerifiableHash(encoded: string): boolean {
  if (encoded.startsWith(BCRYPT_SHA256_PREFIX)) {
    return BCRYPT_HASH_PATTERN.test(encoded.slice(BCRYPT_SHA256_PREFIX.length))
  }
  return encoded.startsWith(`${PBKDF2_SHA256_ALGORITHM}$`) && parsePbkdf2(encoded) !== null
}

const dummyHashes = new Map<number, Promise<string>>()

/**
 * For a login whose user doesn't exist: spends one bcrypt compare at `cost`, like a wrong
 * password for a real user would, and answers `false`. The dummy hash is created on first use
 * per cost and reused.
 *
 * @example
 * const user = await findUserByUsername(db, username)
 * if (!user) return verifyDummyPassword(password, { cost: 12 })
 */
export async function verifyDummyPassword(password: string, opts: PasswordHashOptions): Promise<false> {
  const against = await dummyHashFor(opts)
  const { ms } = await timedInSlot(() => bcrypt.compare(sha256Hex(password), against))
  await settle(false, { kind: `bcrypt$${opts.cost}`, ms, floor: opts.floor })
  return false
}

function dummyHashFor(opts: PasswordHashOptions): Promise<string> {
  assertCost(opts.cost)
  let dummyHash = dummyHashes.get(opts.cost)
  if (!dummyHash) {
    dummyHash = inSlot('high', () => bcrypt.hash(sha256Hex(DUMMY_PASSWORD), opts.cost))
    dummyHashes.set(opts.cost, dummyHash)
    // A failed hash must not stay memoised, or every later unknown-user login would reject.
    dummyHash.catch(() => dummyHashes.delete(opts.cost))
  }
  return dummyHash
}

/**
 * Makes the unknown-user hash for `cost` now, in the background, so the first failed login does
 * not pay for it and the hashing slots have measured a hash before the first flood arrives (the
 * wait bound can only foresee waits once it knows how long a hash takes). Never throws.
 *
 * @example
 * warmPasswordHashing({ cost: 12 })
 */
export function warmPasswordHashing(opts: PasswordHashOptions): void {
  dummyHashFor(opts).catch(() => undefined)
}

/**
 * Measures one PBKDF2 check at `iterations` (against nothing), so that failures are padded to it
 * before the first imported user with that count tries to log in: otherwise the first guesses
 * would still tell an imported name from an unknown one. The auth service runs it at start for
 * the slowest count among its users.
 *
 * @example
 * await measurePbkdf2(870_000)
 */
export async function measurePbkdf2(iterations: number, floor: FailureFloor = passwordFailureFloor): Promise<void> {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > PBKDF2_MAX_ITERATIONS) return
  const { ms } = await timedInSlot(() =>
    pbkdf2Async(DUMMY_PASSWORD, 'gatehouse-dummy-salt', iterations, PBKDF2_KEY_LENGTH_BYTES, 'sha256'),
  )
  floor.record(`${PBKDF2_SHA256_ALGORITHM}$${iterations}`, ms)
}

async function invalidAfterDummy(password: string, opts: PasswordHashOptions): Promise<PasswordVerification> {
  await verifyDummyPassword(password, opts)
  return INVALID
}

function sha256Hex(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex')
}

function parsePbkdf2(encoded: string): { iterations: number; salt: string; hash: Buffer } | null {
  const parts = encoded.split('$')
  if (parts.length !== 4) return null
  const [, iterationsText = '', salt = '', hashBase64 = ''] = parts
  if (!/^[1-9]\d{0,9}$/.test(iterationsText) || salt === '') return null
  const iterations = Number(iterationsText)
  if (iterations > PBKDF2_MAX_ITERATIONS) return null
  const hash = Buffer.from(hashBase64, 'base64')
  // Buffer.from skips characters that aren't base64; re-encoding catches a mangled value.
  if (hash.length !== PBKDF2_KEY_LENGTH_BYTES || hash.toString('base64') !== hashBase64) return null
  return { iterations, salt, hash }
}

function assertCost(cost: number): void {
  // bcrypt silently clamps a cost below 4 up to 4, which would hide a misconfiguration.
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new TypeError(`bcrypt cost must be an integer from 4 to 31, got ${String(cost)}`)
  }
}
