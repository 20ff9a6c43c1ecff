/**
 * `gatehouse <command>` as a function: the environment, stdin and the two output streams come in
 * as arguments and the exit code goes out, so the binary (main.ts) is a thin wrapper and tests run
 * a command in their own process, without a node start and a second migration per call.
 */
import type { Readable, Writable } from 'node:stream'

import type { AuthService } from '@gatehouse/auth'
import { AuthError, createAuthService, SecretKeyError } from '@gatehouse/auth'
import type { Db } from '@gatehouse/db'
import { createDb, migrate } from '@gatehouse/db'

import { authOptions } from '../app.js'
import { ConfigError, loadConfig } from '../config.js'
import { isDatabaseUnavailable } from '../kit/wire-errors.js'
import { resolveSecretKey, secretKeyErrorLine } from '../secret-key.js'
import { COMMANDS, describeFieldErrors, helpText, UsageError } from './commands.js'
import { readPassword } from './secret-input.js'

export interface CliIo {
  env: Record<string, string | undefined>
  stdin: Readable
  stdout: Writable
  stderr: Writable
}

/** Runs one command and resolves with its exit code: 0 done, 1 failed, 2 usage or configuration. */
export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const say = (line: string) => void io.stdout.write(`${line}\n`)
  const complain = (line: string) => void io.stderr.write(`${line}\n`)
  const [name, ...args] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    say(helpText())
    return name ? 0 : 2
  }
  const command = COMMANDS[name]
  if (!command) {
    complain(`gatehouse: unknown command "${name}" (run "gatehouse help" for the list)`)
    return 2
  }

  let db: Db | undefined
  let auth: AuthService | undefined
  try {
    // The server's own key (SECRET_KEY or DATA_DIR/secret_key): what the CLI stores, the server must open.
    const { config } = await resolveSecretKey(loadConfig(io.env))
    const open = async () =>
      (db ??= await createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 }))
    const line = await command.run(args, {
      config,
      migrate: async () => (await migrate(await open())).map((r) => r.migrationName),
      readPassword: () => readPassword(io.stdin, io.stderr),
      db: async () => {
        const opened = await open()
        await migrate(opened)
        return opened
      },
      auth: async () => {
        if (auth) return auth
        const opened = await open()
        await migrate(opened)
        auth = await createAuthService({ db: opened, ...authOptions(config) })
        return auth
      },
    })
    say(line)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      complain(`gatehouse ${name}: ${err.message} (usage: gatehouse ${command.usage})`)
      return 2
    }
    if (err instanceof ConfigError) {
      for (const line of err.lines) complain(`gatehouse: invalid configuration: ${line}`)
      return 2
    }
    if (err instanceof SecretKeyError) {
      complain(`gatehouse ${name}: ${secretKeyErrorLine(err)}`)
      return 1
    }
    if (err instanceof AuthError) {
      complain(`gatehouse ${name}: ${describeFieldErrors(err)}`)
      return 1
    }
    if (isDatabaseUnavailable(err)) {
      complain(`gatehouse ${name}: the database is unavailable (${(err as Error).message})`)
      return 1
    }
    complain(`gatehouse ${name}: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  } finally {
    await auth?.close().catch(() => undefined)
    await db?.destroy().catch(() => undefined)
  }
}
