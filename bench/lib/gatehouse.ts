/**
 * The Gatehouse server as a user runs it (its real entry point, in a process of its own), and the
 * HTTP calls the bench makes to seed it.
 */
import type { ChildProcess } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'

import { collect, hasExited, OutputTail, REPO_ROOT, spawnNode, spawnTs, stop, waitForLine } from './children.js'

export interface GatehouseOptions {
  cost: number
  /** The embedded database folder; ignored when DATABASE_URL is set. */
  dataDir: string
  /** Server processes (WORKERS); 1 unless a scenario says otherwise, whatever the caller's environment. */
  workers?: number
  /** Extra node options for the server process (`--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[]
  /** Variables set over the bench's own (a scenario that turns a throttle back on). */
  env?: Record<string, string>
}

/** The server's environment: the caller's, plus what makes a load test measure the work itself. */
export function gatehouseEnv(opts: GatehouseOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    PASSWORD_HASH_COST: String(opts.cost),
    // One client address sending thousands of requests a second is exactly what the throttles
    // refuse; the bench measures the work behind them, so it turns them off (each accepts `off`).
    THROTTLE_ANON: 'off',
    THROTTLE_USER: 'off',
    THROTTLE_LOGIN_FAILURES: 'off',
    THROTTLE_RATES: '',
    WORKERS: String(opts.workers ?? 1),
    ...opts.env,
  }
  if (!env.DATABASE_URL) env.DATA_DIR = opts.dataDir
  return env
}

export interface Gatehouse {
  child: ChildProcess
  pid: number
  /** Every server process: the one pid, or with WORKERS > 1 the primary's and its workers'. */
  pids: number[]
  origin: string
  /** Spawn to the "listening on" line, and spawn to the first 200 from /healthz. */
  listeningMs: number
  readyMs: number
  output: OutputTail
  alive(): boolean
  stop(): Promise<void>
}

let built = false

/**
 * The node flags `pnpm start` runs the bundle with, read from its script in package.json so the
 * bench measures exactly that (`--heap-growing-percent`: see docs/performance.md, "Memory").
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
  const match = /\bnode ((?:--[\w-]+(?:=\S+)? )*)apps\/server\/dist\/main\.js/.exec(pkg.scripts.start)
  if (!match) throw new Error(`package.json's start script does not run apps/server/dist/main.js: ${pkg.scripts.start}`)
  return match[1]?.split(' ').filter(Boolean) ?? []
}

/**
 * Builds the server once per bench run (apps/server/scripts/build.mjs, under a second), so every
 * scenario measures what `pnpm start` runs: the bundle in dist/ under plain Node, no tsx.
 */
export function buildServer() {
  if (built) return
  execFileSync(process.execPath, ['apps/server/scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' })
  built = true
}

export async function startGatehouse(opts: GatehouseOptions): Promise<Gatehouse> {
  buildServer() // before the clock starts: start-up time is the server's, not the build's
  const started = performance.now()
  const child = spawnNode('apps/server/dist/main.js', {
    role: 'server',
    env: gatehouseEnv(opts),
    nodeArgs: [...startFlags(), ...(opts.nodeArgs ?? [])],
  })
  const output = new OutputTail()
  child.stdout?.on('data', (chunk: string) => output.push(chunk))
  child.stderr?.on('data', (chunk: string) => output.push(chunk))
  try {
    // A fresh embedded database runs initdb first, which takes several seconds on this machine.
    const origin = await waitForLine(child, /listening on (http:\/\/[^\s]+)/, 120_000)
    const listeningMs = performance.now() - started
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) throw new Error(`server listens on ${origin}, not on loopback`)
    await waitForHealthy(origin, child, 60_000)
    const readyMs = performance.now() - started
    // A clustered server names its workers on its one "listening on" line.
    const workers = /workers \(pids ([\d, ]+)\)/.exec(output.toString())?.[1]
    const pid = child.pid ?? 0
    return {
      child,
      pid,
      pids: [pid, ...(workers ? workers.split(',').map((w) => Number(w.trim())) : [])],
      origin,
      listeningMs,
      readyMs,
      output,
      alive: () => !hasExited(child),
      stop: () => stop(child),
    }
  } catch (err) {
    await stop(child)
    throw new Error(`the server did not start: ${(err as Error).message}\n${output.toString()}`)
  }
}

async function waitForHealthy(origin: string, child: ChildProcess, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (hasExited(child)) throw new Error('exited before /healthz answered 200')
    const reply = await call(origin, { method: 'GET', path: '/healthz' }).catch(() => null)
    if (reply?.status === 200) return
    await sleep(5)
  }
  throw new Error(`/healthz did not answer 200 within ${timeoutMs} ms`)
}

export interface Reply {
  status: number
  json: unknown
}

/** One HTTP call over loopback; the body is parsed as JSON when it is JSON. */
export function call(
  origin: string,
  req: { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: unknown },
): Promise<Reply> {
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body)
  const headers: Record<string, string | number> = { ...req.headers }
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = Buffer.byteLength(payload)
  }
  return new Promise((resolve, reject) => {
    const r = request(`${origin}${req.path}`, { method: req.method, headers, timeout: 60_000 })
    r.on('timeout', () => r.destroy(new Error(`${req.method} ${req.path} timed out`)))
    r.on('error', reject)
    r.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('error', reject)
      res.on('end', () => {
        let json: unknown = text
        try {
          json = JSON.parse(text)
        } catch {
          // Not JSON: keep the text, it explains the failure better than a parse error.
        }
        resolve({ status: res.statusCode ?? 0, json })
      })
    })
    r.end(payload)
  })
}

/** A tRPC mutation that must succeed; returns `result.data`. */
export async function mutate<T>(origin: string, path: string, input: unknown): Promise<T> {
  const reply = await call(origin, { method: 'POST', path: `/trpc/${path}`, body: input })
  if (reply.status !== 200) throw new Error(`${path} answered ${reply.status}: ${JSON.stringify(reply.json)}`)
  return (reply.json as { result: { data: T } }).result.data
}

export interface Tokens {
  access: string
  refresh: string
}

export function login(origin: string, user: { username: string; password: string }) {
  return mutate<Tokens>(origin, 'auth.login', user)
}

/**
 * `auth.session.login`: the cookies the server set (`sessionid`, `csrftoken`) as a Cookie header.
 * A query needs no CSRF token in its header, so the cookies alone authenticate the bench's GETs.
 */
export function sessionCookie(origin: string, user: { username: string; password: string }): Promise<string> {
  const payload = JSON.stringify(user)
  return new Promise((resolve, reject) => {
    const r = request(`${origin}/trpc/auth.session.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      timeout: 60_000,
    })
    r.on('timeout', () => r.destroy(new Error('auth.session.login timed out')))
    r.on('error', reject)
    r.on('response', (res) => {
      res.resume()
      res.on('end', () => {
        // Every cookie the login set, as a browser sends them back: the session and its CSRF token
        // (without `csrftoken` the server would mint one for each request, as Django does).
        const pairs = (res.headers['set-cookie'] ?? []).map((line) => line.split(';', 1)[0] ?? '')
        if (res.statusCode !== 200 || !pairs.some((pair) => pair.startsWith('sessionid='))) {
          reject(new Error(`auth.session.login answered ${res.statusCode ?? 0} without a sessionid cookie`))
        } else resolve(pairs.join('; '))
      })
    })
    r.end(payload)
  })
}

/** Runs `tasks` with at most `limit` in flight, in order. */
export async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count)
  let next = 0
  async function worker() {
    while (next < count) {
      const i = next++
      results[i] = await task(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, () => worker()))
  return results
}

/** `pnpm gatehouse <args>` (its entry point, with the server's environment). */
export async function cli(args: string[], opts: GatehouseOptions): Promise<string> {
  const child = spawnTs('apps/server/src/cli/main.ts', { args, env: gatehouseEnv(opts) })
  let stderr = ''
  child.stderr?.on('data', (chunk: string) => (stderr += chunk))
  const { code, stdout } = await collect(child)
  if (code !== 0) throw new Error(`gatehouse ${args.join(' ')} exited with ${String(code)}: ${stderr.trim()}`)
  return stdout.trim()
}
