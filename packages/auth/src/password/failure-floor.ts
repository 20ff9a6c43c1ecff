/**
 * Equal time for every failed password check. A wrong password costs what its stored hash costs
 * to compute: bcrypt at the configured cost for our users and for unknown ones (a dummy compare),
 * PBKDF2 at whatever iteration count Django gave an imported user (260,000 in Django 3.2, over a
 * million today). Left alone, the time of a failure tells an attacker "this name is an imported
 * user" apart from "no such user". So each check's compute time is measured per kind of hash, and
 * a failure is padded (asleep, costing no CPU) up to the slowest kind this process has measured.
 * Only compute time counts: time spent queueing for a hashing slot is the same for everyone.
 * Django's hashers do the same within one algorithm (`harden_runtime`).
 */

// How much each measurement moves a kind's time (an exponentially weighted mean): steady against
// one slow run on a busy machine, quick to follow a changed cost.
const WEIGHT = 0.2
// Pads below this are noise, not information.
const MIN_PAD_MS = 1

export interface FailureFloorOptions {
  /** How a pad is waited out. @default setTimeout */
  sleep?: ((ms: number) => Promise<void>) | undefined
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export class FailureFloor {
  readonly #kinds = new Map<string, number>()
  readonly #sleep: (ms: number) => Promise<void>

  constructor(opts: FailureFloorOptions = {}) {
    this.#sleep = opts.sleep ?? realSleep
  }

  /** Records how long a check of this kind (`bcrypt$12`, `pbkdf2_sha256$260000`) took to compute. */
  record(kind: string, ms: number): void {
    const known = this.#kinds.get(kind)
    this.#kinds.set(kind, known === undefined ? ms : known + WEIGHT * (ms - known))
  }

  /** How long every failed check should take: the slowest kind measured (0 before any). */
  get targetMs(): number {
    return Math.max(0, ...this.#kinds.values())
  }

  /**
   * After a failed check of `kind` that computed for `ms`: records it, then waits out the
   * difference to the slowest kind.
   *
   * @example
   * await floor.failed('bcrypt$12', 240) // waits ~410 ms if a pbkdf2_sha256$870000 check took 650
   */
  async failed(kind: string, ms: number): Promise<void> {
    this.record(kind, ms)
    const pad = this.targetMs - ms
    if (pad >= MIN_PAD_MS) await this.#sleep(pad)
  }
}
