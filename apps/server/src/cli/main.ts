/**
 * `pnpm gatehouse <command>`: the same environment as the server. On the embedded database it
 * joins a running server through its socket, or opens the data folder itself (under the same
 * lock) when no server holds it. The commands themselves run in run.ts.
 */
import { runCommand } from './run.js'

process.exitCode = await runCommand(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
})
