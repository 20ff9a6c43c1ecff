import type { ChildProcess } from 'node:child_process'
import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

import pg from 'pg'

import { runCommand } from '../../src/cli/run.js'
import { TEST_BUNDLE_ENV } from '../setup-bundle.js'

const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url))
// TypeScript entry points run under `node --import tsx`, not the tsx CLI: the CLI is a second node
// process in front of the program (~0.5 s more per start, and signals reach the program through it).
const TS_NODE_ARGS = ['--import', 'tsx']

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `gatehouse <args>` in this process (cli/run.ts, what the binary calls): the command's
 * output and exit code as a user sees them, without a node start and a migration per call.
 * `stdin` is what a pipe would give the command; without it stdin is empty.
 */
export async function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<RunResult> {
  let stdout = ''
  let stderr = ''
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        append(chunk.toString())
        done()
      },
    })
  const code = await runCommand(args, {
    env: { ...process.env, ...env },
    stdin: Readable.from(stdin === undefined ? [] : [stdin]),
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
  })
  return { code, stdout, stderr }
}

/** Runs `gatehouse <args>` in a process of its own, for tests about the process itself; `stdin` is piped to it when given. */
export function runCliProcess(args: string[], env: Record<string, string>, stdin?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TS_NODE_ARGS, 'src/cli/main.ts', ...args], {
      cwd: SERVER_DIR,
      env: { ...process.env, ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    child.stdin?.end(stdin)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
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

/** The bundle `pnpm start` runs (scripts/build.mjs); tests build it first with `buildServer()`. */
export const BUILT_ENTRY = join(SERVER_DIR, 'dist/main.js')

/**
 * The node flags `pnpm start` gives the bundle (root package.json), so a built server in a test
 * runs exactly as a user's does: a flag this Node no longer accepts fails here, not in production.
 */
function startScriptFlags(): string[] {
  const root = JSON.parse(readFileSync(join(SERVER_DIR, '../../package.json'), 'utf8')) as { scripts: { start: string } }
  const match = /\bnode ((?:--[\w-]+(?:=\S+)? )*)apps\/server\/dist\/main\.js/.exec(root.scripts.start)
  if (!match) throw new Error(`the start script does not run apps/server/dist/main.js: ${root.scripts.start}`)
  return match[1]?.split(' ').filter(Boolean) ?? []
}

/** Builds the server bundle into dist/, as `pnpm start` does before it runs it. */
export async function buildServer(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: SERVER_DIR })
}

/**
 * The program a server process runs: with `built`, dist/ as `pnpm build` left it; otherwise the
 * run's own bundle (test/setup-bundle.ts), or the TypeScript sources under tsx when a test file
 * runs without that setup.
 */
function serverArgs(opts: { built?: boolean }): string[] {
  if (opts.built) return [...startScriptFlags(), BUILT_ENTRY]
  const bundle = process.env[TEST_BUNDLE_ENV]
  return bundle ? [...startScriptFlags(), bundle] : [...TS_NODE_ARGS, 'src/main.ts']
}

/**
 * Starts the server in a process of its own, as `pnpm start` runs it, and waits for its
 * "listening on" line.
 */
export function startServerProcess(env: Record<string, string>, opts: { built?: boolean } = {}): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const args = serverArgs(opts)
    const child = spawn(process.execPath, args, {
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

/** Where a test's server and CLI processes keep their data, and how to throw it away. */
export interface ProcessStore {
  /** The environment the processes share: DATA_DIR, and DATABASE_URL on Postgres. */
  env: Record<string, string>
  dataDir: string
  dispose(): Promise<void>
}

/**
 * A fresh, empty store for processes: a temporary DATA_DIR, and on Postgres (DATABASE_URL set) a
 * new database of its own, because processes share a database, not a test schema.
 * @example
 * const store = await createProcessStore('gh_keys', { KEY_REFRESH_INTERVAL: '1s' })
 */
export async function createProcessStore(prefix: string, extra: Record<string, string> = {}): Promise<ProcessStore> {
  const dataDir = await mkdtemp(join(tmpdir(), `${prefix}-`))
  // One issuer for every process, as several hosts behind one name need (JWT_ISSUER): unset, each
  // would use its own URL, and the processes here listen on ports of their own.
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    PASSWORD_HASH_COST: '4',
    JWT_ISSUER: 'http://gatehouse.test',
    ...extra,
  }
  const adminUrl = process.env['DATABASE_URL']
  const database = `${prefix}_${process.pid}_${Date.now()}`
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl })
    await client.connect()
    try {
      await client.query(statement)
    } finally {
      await client.end()
    }
  }
  if (adminUrl) {
    await admin(`create database ${database}`)
    const url = new URL(adminUrl)
    url.pathname = `/${database}`
    env['DATABASE_URL'] = url.toString()
  }
  return {
    env,
    dataDir,
    async dispose() {
      await rm(dataDir, { recursive: true, force: true })
      if (adminUrl) await admin(`drop database if exists ${database} with (force)`)
    },
  }
}
