/**
 * Child processes of the bench: every one is registered here so that a normal end, an error or a
 * Ctrl-C stops all of them, and none outlives the run.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

const running = new Set<ChildProcess>()
let closing = false

/** From now on spawnTs throws: a run being stopped must not start anything new. */
export function refuseNewChildren() {
  closing = true
}

/** Lines a child printed, kept short: enough to explain a crash without holding a run's logs. */
export class OutputTail {
  readonly #lines: string[] = []
  readonly #max: number
  constructor(max = 40) {
    this.#max = max
  }
  push(chunk: string) {
    for (const line of chunk.split('\n')) {
      if (!line.trim()) continue
      this.#lines.push(line)
      if (this.#lines.length > this.#max) this.#lines.shift()
    }
  }
  toString() {
    return this.#lines.join('\n')
  }
}

/** Which processes run where under `--pin` (null: wherever the kernel puts them). */
export interface Placement {
  /** CPUs for the process under test: the Gatehouse server, the baseline server, the bcrypt child. */
  server: string
  /** CPUs for the load driver. */
  driver: string
}

let placement: Placement | null = null

/** `--pin`: from now on `role`-tagged children start under `taskset -c` on their CPUs. */
export function pinProcesses(p: Placement) {
  placement = p
}

interface SpawnOpts {
  args?: string[]
  env?: NodeJS.ProcessEnv
  stdin?: boolean
  nodeArgs?: string[]
  /** Under `--pin`, the CPUs of this role; otherwise ignored. */
  role?: keyof Placement
}

/**
 * Runs a TypeScript file with Node and tsx's loader (`node --import tsx`), without the tsx CLI's
 * extra wrapper process, so the pid we watch is the program itself and a signal we send reaches it
 * directly.
 */
export function spawnTs(file: string, opts: SpawnOpts = {}) {
  return spawnNode(file, { ...opts, nodeArgs: [...(opts.nodeArgs ?? []), '--import', 'tsx'] })
}

/** Runs a JavaScript file with plain Node: the built server, as `pnpm start` runs it. */
export function spawnNode(file: string, opts: SpawnOpts = {}) {
  if (closing) throw new Error('the bench is stopping')
  const options: SpawnOptions = {
    cwd: REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  }
  const argv = [...(opts.nodeArgs ?? []), file, ...(opts.args ?? [])]
  const cpus = opts.role && placement?.[opts.role]
  // taskset execs node in its own process, so the pid is still the program's.
  const child = cpus
    ? spawn('taskset', ['-c', cpus, process.execPath, ...argv], options)
    : spawn(process.execPath, argv, options)
  running.add(child)
  child.once('exit', () => running.delete(child))
  child.stdout?.setEncoding('utf8')
  child.stderr?.setEncoding('utf8')
  return child
}

export function hasExited(child: ChildProcess) {
  return child.exitCode !== null || child.signalCode !== null
}

/** Resolves with the first capture of `pattern` in the child's stdout; rejects if it exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    const timer = setTimeout(
      () => finish(new Error(`no line matching ${String(pattern)} within ${timeoutMs} ms`)),
      timeoutMs,
    )
    const onData = (chunk: string) => {
      buffered += chunk
      const match = pattern.exec(buffered)
      if (match) finish(null, match[1] ?? match[0])
      else buffered = buffered.slice(-4096)
    }
    const onExit = (code: number | null, signal: string | null) =>
      finish(
        new Error(`exited (${signal ?? `code ${String(code)}`}) before printing a line matching ${String(pattern)}`),
      )
    function finish(err: Error | null, value?: string) {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.off('exit', onExit)
      if (err) reject(err)
      else resolve(value ?? '')
    }
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
  })
}

/** Collects a child's whole stdout and its exit code. */
export async function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string }> {
  let stdout = ''
  child.stdout?.on('data', (chunk: string) => (stdout += chunk))
  if (hasExited(child)) return { code: child.exitCode, stdout }
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout }
}

/** SIGTERM, then SIGKILL if the child has not gone within `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 12_000): Promise<void> {
  if (hasExited(child)) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

export async function stopAll(graceMs = 5_000): Promise<void> {
  await Promise.all([...running].map((child) => stop(child, graceMs)))
}

/** Last resort for a synchronous exit path, where there is no time to wait for anyone. */
export function killAllNow() {
  for (const child of running) if (!hasExited(child)) child.kill('SIGKILL')
}
