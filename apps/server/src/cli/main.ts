/* eslint-disable no-console -- a CLI speaks on stdout and stderr */
/**
 * `pnpm gatehouse <command>`: the same environment as the server. On the embedded database it
 * joins a running server through its socket, or opens the data folder itself (under the same
 * lock) when no server holds it.
 */
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

async function run(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(helpText())
    return name ? 0 : 2
  }
  const command = COMMANDS[name]
  if (!command) {
    console.error(`gatehouse: unknown command "${name}" (run "gatehouse help" for the list)`)
    return 2
  }

  let db: Db | undefined
  let auth: AuthService | undefined
  try {
    // The server's own key (SECRET_KEY or DATA_DIR/secret_key): what the CLI stores, the server must open.
    const { config } = await resolveSecretKey(loadConfig(process.env))
    const open = async () =>
      (db ??= await createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 }))
    const line = await command.run(args, {
      config,
      migrate: async () => (await migrate(await open())).map((r) => r.migrationName),
      readPassword: () => readPassword(process.stdin, process.stderr),
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
    console.log(line)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`gatehouse ${name}: ${err.message} (usage: gatehouse ${command.usage})`)
      return 2
    }
    if (err instanceof ConfigError) {
      for (const line of err.lines) console.error(`gatehouse: invalid configuration: ${line}`)
      return 2
    }
    if (err instanceof SecretKeyError) {
      console.error(`gatehouse ${name}: ${secretKeyErrorLine(err)}`)
      return 1
    }
    if (err instanceof AuthError) {
      console.error(`gatehouse ${name}: ${describeFieldErrors(err)}`)
      return 1
    }
    if (isDatabaseUnavailable(err)) {
      console.error(`gatehouse ${name}: the database is unavailable (${(err as Error).message})`)
      return 1
    }
    console.error(`gatehouse ${name}: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  } finally {
    await db?.destroy().catch(() => undefined)
  }
}

process.exitCode = await run(process.argv.slice(2))
