/**
 * What a `gatehouse` command is, and the argument handling they share. A bad argument is a
 * UsageError, a refused operation an AuthError.
 */
import { parseArgs } from 'node:util'

import type { AuthError, AuthService } from '@gatehouse/auth'
import type { Db } from '@gatehouse/db'

import type { ConfigWithSecretKey } from '../../secret-key.js'

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export interface CommandContext {
  /** With the secret key resolved (SECRET_KEY, or DATA_DIR/secret_key as the server takes it). */
  config: ConfigWithSecretKey
  /** Opens the database (migrated) and the auth service on first use. */
  auth(): Promise<AuthService>
  /** Opens the database (migrated) without the auth service, which would touch stored keys first. */
  db(): Promise<Db>
  migrate(): Promise<string[]>
  /** A password from the terminal (asked twice, no echo) or the first line of a piped stdin. */
  readPassword(): Promise<string>
}

export interface Command {
  usage: string
  summary: string
  run(args: string[], ctx: CommandContext): Promise<string>
}

export function parse(
  args: string[],
  spec: { positionals: string[]; options?: Record<string, { type: 'string' | 'boolean' }> },
) {
  let parsed
  try {
    parsed = parseArgs({ args, options: spec.options ?? {}, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments')
  }
  if (parsed.positionals.length !== spec.positionals.length) {
    const expected = spec.positionals.length === 0 ? 'no arguments' : spec.positionals.join(' ')
    throw new UsageError(
      `expected ${expected}, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')}`,
    )
  }
  return { positionals: parsed.positionals, values: parsed.values as Record<string, string | boolean | undefined> }
}

export function requireOption(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name]
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`--${name} is required`)
  return value
}

/**
 * `--password` when given (visible to every local user in `ps`: for scripts that cannot pipe),
 * else typed at the prompt or piped on stdin.
 */
export async function passwordOf(
  values: Record<string, string | boolean | undefined>,
  ctx: CommandContext,
): Promise<string> {
  const given = values['password']
  if (typeof given === 'string' && given.length > 0) return given
  try {
    return await ctx.readPassword()
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new UsageError(`--password is required (type it at the prompt or pipe it on stdin): ${why}`)
  }
}

export function describeFieldErrors(err: AuthError): string {
  if (!err.fieldErrors) return err.message
  return Object.entries(err.fieldErrors)
    .map(([field, messages]) => `${field}: ${messages.join(' ')}`)
    .join('; ')
}
