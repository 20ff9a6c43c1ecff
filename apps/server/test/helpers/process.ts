import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url))
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url))

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `gatehouse <args>` as a user would, in its own process. */
export function runCli(args: string[], env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['src/cli/main.ts', ...args], {
      cwd: SERVER_DIR,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

export interface ServerProcess {
  child: ChildProcess
  url: string
  output(): string
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>
  [Symbol.asyncDispose](): Promise<void>
}

/** Starts `pnpm start`'s entry point and waits for its "listening on" line. */
export function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['src/main.ts'], {
      cwd: SERVER_DIR,
      env: { ...process.env, PORT: '0', PASSWORD_HASH_COST: '4', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    const onData = (d: Buffer) => {
      out += d.toString()
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match?.[1]) {
        const stop = async () => {
          if (child.exitCode === null) child.kill('SIGTERM')
          return exited
        }
        resolve({ child, url: match[1], output: () => out, stop, [Symbol.asyncDispose]: async () => void (await stop()) })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${out}`)))
  })
}
