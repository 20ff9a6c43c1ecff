/**
 * Users: registration, creation (createsuperuser and tests) and password changes, with Django's
 * password validators. Logging in is users/login.ts's `loginCheck`.
 */
import type { RequestMeta } from '../audit/audit.js'
import type { ServiceCore } from '../core.js'
import type { AuthServiceOptions } from '../options.js'
import type { PublicUser } from './user.js'
import { AuthError } from '../errors.js'
import { DEFAULT_PASSWORD_VALIDATORS, hashPassword, validatePassword } from '../password/index.js'
import { bumpTokenEpoch, deleteUserOAuthSessions } from '../store/epoch.repository.js'
import { deleteUserSessions } from '../store/session.repository.js'
import { blacklistUserTokens } from '../store/token.repository.js'
import { findUserByUsername, insertUser, updateUser } from '../store/user.repository.js'
import { requireUser } from './require-user.js'
import { toAuthUser, toPublicUser } from './user.js'
import { checkUsername, normalizeUsername } from './username.js'

export interface RegisterInput {
  username: string
  password: string
  email?: string | undefined
}

export interface CreateUserInput extends RegisterInput {
  isStaff?: boolean
  isSuperuser?: boolean
  /** The CLI may skip Django's validators, as `createsuperuser` asks before doing so. */
  skipValidation?: boolean
}

/**
 * The user operations, spread into the auth service.
 * @example
 * const user = await auth.register({ username: 'alice', password: '…' })
 */
export function userService(core: ServiceCore, options: Pick<AuthServiceOptions, 'passwordValidators'>) {
  const { db, cost, audit } = core
  const validators = options.passwordValidators ?? DEFAULT_PASSWORD_VALIDATORS

  function checkNewPassword(password: string, user: { username: string; email?: string | undefined }) {
    const messages = validatePassword(password, { username: user.username, email: user.email ?? '' }, validators)
    if (messages.length > 0) throw new AuthError('PASSWORD_INVALID', { fieldErrors: { password: messages } })
  }

  async function createUser(input: CreateUserInput): Promise<PublicUser> {
    // Stored as Django stores it (NFKC), so a look-alike of a taken name is that name, and taken.
    const username = normalizeUsername(input.username)
    const usernameError = checkUsername(username)
    if (usernameError) throw new AuthError('INVALID_INPUT', { fieldErrors: { username: [usernameError] } })
    if (!input.skipValidation) checkNewPassword(input.password, { ...input, username })
    // Cheap duplicate check first, so a taken name costs no hash; the insert stays the arbiter.
    if (await findUserByUsername(db, username)) throw usernameTaken()
    const row = await insertUser(db, {
      username,
      email: input.email ?? '',
      password: await hashPassword(input.password, { cost }),
      is_staff: input.isStaff ?? false,
      is_superuser: input.isSuperuser ?? false,
    })
    if (!row) throw usernameTaken()
    return toPublicUser(toAuthUser(row, []))
  }

  return {
    /** auth.register: a plain user, Django's password validators applied. */
    register: (input: RegisterInput) => createUser(input),

    /** createsuperuser and tests: staff/superuser flags, optional validator bypass. */
    createUser,

    loadUser: (id: number) => core.loadUser(id),

    async changePassword(
      username: string,
      password: string,
      opts: { skipValidation?: boolean; meta?: RequestMeta; via?: string } = {},
    ) {
      const row = await requireUser(db, username)
      if (!opts.skipValidation) checkNewPassword(password, row)
      const hash = await hashPassword(password, { cost })
      // A new password ends every login: access and sliding tokens by the epoch, refresh and
      // sliding tokens by the blacklist, sessions (ours and the OAuth server's sign-ins) by deletion
      // (Django: update_session_auth_hash elsewhere).
      await db.transaction().execute(async (trx) => {
        await updateUser(trx, row.id, { password: hash })
        await bumpTokenEpoch(trx, row.id)
        await blacklistUserTokens(trx, row.id)
        await deleteUserSessions(trx, row.id)
        await deleteUserOAuthSessions(trx, row.id)
      })
      const detail = opts.via ? { via: opts.via } : {}
      await audit({ event: 'password.changed', userId: row.id, username: row.username, ...opts.meta, detail })
    },
  }
}

function usernameTaken() {
  return new AuthError('USERNAME_TAKEN', { fieldErrors: { username: ['A user with that username already exists.'] } })
}
