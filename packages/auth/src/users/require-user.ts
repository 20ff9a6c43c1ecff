import type { Db, User } from '@gatehouse/db'

import { AuthError } from '../errors.js'
import { findUserByUsername } from '../store/user.repository.js'

/** The user of that name (any spelling of it), or NOT_FOUND naming it: what every by-name operation answers. */
export async function requireUser(db: Db, username: string): Promise<User> {
  const row = await findUserByUsername(db, username)
  if (!row) throw new AuthError('NOT_FOUND', { message: `No user named "${username}".` })
  return row
}
