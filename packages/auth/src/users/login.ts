/**
 * The one password check behind every credential exchange: auth.login, auth.tokens.obtain,
 * auth.session.login, auth.sliding.obtain and the OAuth sign-in page all call it (as
 * `core.checkLogin`), so each gets the same answers, the same brute-force protection and the same
 * audit rows.
 */
import type { AuthCore, LoginOptions, ServiceCore } from '../core.js'
import type { AuthServiceOptions } from '../options.js'
import type { AuthUser } from './user.js'
import { AuthError } from '../errors.js'
import { hashPassword, verifyDummyPassword, verifyPassword } from '../password/index.js'
import { findUserByUsername, updateUser } from '../store/user.repository.js'
import { LoginGuard } from '../throttle/index.js'
import { normalizeUsername } from './username.js'

type LoginCheckOptions = Pick<AuthServiceOptions, 'loginFailureRate' | 'loginDelay' | 'sleep'>

/**
 * @example
 * const checkLogin = loginCheck(core, opts)
 * const user = await checkLogin({ username, password }, { ...ctx.meta, via: 'session' })
 */
export function loginCheck(core: AuthCore, options: LoginCheckOptions): ServiceCore['checkLogin'] {
  const { db, clock, cost, floor, pbkdf2Measured, audit, afterWrite, loadUser } = core
  const loginFailureRate =
    options.loginFailureRate === undefined ? { limit: 10, windowSeconds: 900 } : options.loginFailureRate
  const loginGuard = new LoginGuard({
    db,
    clock,
    rate: loginFailureRate,
    state: core.throttleState,
    delay: options.loginDelay,
    sleep: options.sleep,
  })

  /**
   * The one password check behind every credential exchange (auth.login, auth.tokens.obtain).
   * Unknown user, wrong password and inactive user give the same error after the same work (one
   * bcrypt comparison), so the answer reveals nothing about which it was. Failures are counted
   * (LoginGuard): a used-up (username, address) or address is THROTTLED before any password is
   * checked; a name with many failures is only delayed. Successes are never counted and reset
   * nothing.
   */
  async function checkLogin(input: { username: string; password: string }, opts: LoginOptions): Promise<AuthUser> {
    const meta = { address: opts.address, userAgent: opts.userAgent }
    // Every spelling of a name counts against the one name: "ｖictim" is "victim" (NFKC).
    const username = normalizeUsername(input.username)
    const failed = (userId: number | null, why: string) =>
      audit({
        event: 'login.failed',
        userId,
        username,
        ...meta,
        detail: { via: opts.via ?? 'jwt', why },
      })
    const attempt = await loginGuard.admit(username, opts.address).catch(async (error: unknown) => {
      await failed(null, 'throttled')
      throw error
    })
    const row = await findUserByUsername(db, username)
    await pbkdf2Measured
    if (!row) {
      await verifyDummyPassword(input.password, { cost, floor })
      await failed(null, 'unknown_user')
      throw new AuthError('INVALID_CREDENTIALS') // the reserved slots stay counted as failures
    }
    const { valid, needsRehash } = await verifyPassword(input.password, row.password, { cost, floor })
    if (!valid || !row.is_active) {
      await failed(row.id, valid ? 'inactive' : 'wrong_password')
      throw new AuthError('INVALID_CREDENTIALS')
    }
    await attempt.release()
    const update: { last_login: Date; password?: string } = { last_login: clock() }
    if (needsRehash) update.password = await hashPassword(input.password, { cost })
    await updateUser(db, row.id, update)
    afterWrite()
    const user = await loadUser(row.id)
    if (!user) throw new AuthError('INVALID_CREDENTIALS') // deleted between the two reads
    await audit({
      event: 'login.succeeded',
      userId: user.id,
      username: user.username,
      ...meta,
      detail: { via: opts.via ?? 'jwt' },
    })
    return user
  }

  return checkLogin
}
