/**
 * The `gatehouse` commands. Each takes parsed arguments and a way to reach the auth service, and
 * returns the line to print; a bad argument is a UsageError, a refused operation an AuthError.
 */
import type { Command } from './commands/command.js'
import { flushexpiredtokens, importusers, migrate } from './commands/database.js'
import { encryptsecrets, retirekey, rotatekeys } from './commands/keys.js'
import { createclient, deleteclient, listclients } from './commands/oauth-clients.js'
import { postman } from './commands/postman.js'
import {
  activationCommand,
  addtogroup,
  changepassword,
  creategroup,
  createsuperuser,
  grantCommand,
  listusers,
  removefromgroup,
} from './commands/users.js'

export { describeFieldErrors, UsageError, type CommandContext } from './commands/command.js'

/** Every command, in the order `gatehouse help` lists them. */
export const COMMANDS: Record<string, Command> = {
  migrate,
  createsuperuser,
  creategroup,
  addtogroup,
  removefromgroup,
  changepassword,
  flushexpiredtokens,
  rotatekeys,
  encryptsecrets,
  retirekey,
  grant: grantCommand('grant'),
  revoke: grantCommand('revoke'),
  activate: activationCommand(true),
  deactivate: activationCommand(false),
  listusers,
  importusers,
  postman,
  createclient,
  listclients,
  deleteclient,
}

export function helpText(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length))
  return [
    'usage: gatehouse <command> [arguments]',
    '',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
  ].join('\n')
}
