/**
 * What the orchestrator (run.ts) and its child processes (drive.ts, bcrypt-rate.ts) say to each
 * other: a JSON spec on the child's stdin, a JSON result as the last line of its stdout.
 */
import type { ChildProcess } from 'node:child_process'

import { collect } from './children.js'

/** One stream of identical (or per-request generated) HTTP requests at a fixed concurrency. */
export interface HttpLoad {
  /** Origin only, e.g. http://127.0.0.1:41234; always loopback. */
  origin: string
  method: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  body?: string
  /** Every request registers a new user: the body is built per request from a counter. */
  uniqueUsers?: { prefix: string; password: string }
  connections: number
  timeoutSeconds: number
}

export type DriveSpec =
  | {
      kind: 'autocannon'
      load: HttpLoad
      /** Runs at the same time as `load` and is reported beside it (a login storm, say). */
      background?: HttpLoad
      durationSeconds: number
      warmupSeconds: number
    }
  | {
      kind: 'refresh-chains'
      origin: string
      /** One refresh token per chain, each from its own login. */
      tokens: string[]
      durationSeconds: number
      warmupSeconds: number
      timeoutSeconds: number
    }

export interface LoadResult {
  /** Responses received in the measured window (any status). */
  responses: number
  durationSeconds: number
  /** Responses (refresh chains: successful rotations) per second of the window. */
  rps: number
  /** The rate between bursts of completions; see burstRate. */
  burst: BurstRate
  p50Ms: number | null
  p99Ms: number | null
  /** Connection errors and timeouts: requests that got no HTTP answer. */
  transportErrors: number
  statusCounts: Record<string, number>
}

export interface DriveResult {
  load: LoadResult
  background?: LoadResult
  /** Refresh chains only: chains that stopped early because a rotation failed. */
  brokenChains?: number
}

export interface BcryptSpec {
  cost: number
  concurrency: number
  durationSeconds: number
  warmupSeconds: number
}

export interface BcryptResult {
  hashes: number
  durationSeconds: number
  /** hashes ÷ window */
  countRps: number
  burst: BurstRate
  p50Ms: number | null
  p99Ms: number | null
  threadpoolSize: string
}

/** Sends `spec` to a child started with stdin piped and parses the JSON line it ends with. */
export async function exchange<T>(child: ChildProcess, spec: unknown): Promise<T> {
  const result = collect(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: string) => (stderr += chunk))
  const stdin = child.stdin
  if (!stdin) throw new TypeError('the child was started without a stdin pipe')
  // A child that dies before reading its spec breaks the pipe; its exit code tells the story.
  stdin.on('error', () => undefined)
  stdin.end(JSON.stringify(spec))
  const { code, stdout } = await result
  const last = stdout.trim().split('\n').at(-1) ?? ''
  if (code !== 0 || !last.startsWith('{')) {
    throw new Error(`child exited with code ${String(code)}: ${stderr.trim().slice(-2000) || stdout.slice(-2000)}`)
  }
  return JSON.parse(last) as T
}

/** Reads the spec a parent sent on stdin. */
export async function readSpec<T>(): Promise<T> {
  let text = ''
  process.stdin.setEncoding('utf8')
  for await (const chunk of process.stdin) text += chunk as string
  return JSON.parse(text) as T
}

export interface BurstRate {
  /** Completions per second, the slope of the completion count over time; null below two bursts. */
  rps: number | null
  bursts: number
}

/**
 * The rate of a stream that completes in bursts. Equal-length bcrypt jobs on a fixed thread pool
 * finish together: at 50 connections every login of a round completes within a few hundred ms of
 * the others, one round every 6 s or so. A count over a window of a few rounds then jumps by a
 * whole round with the window's phase. The least-squares slope of "completions so far" against
 * time does not: each burst is a step of the staircase, the steps' midpoints lie on one line, and
 * its slope is the rate, whatever the phase and however a burst is split.
 *
 * A burst starts after a pause of more than 250 ms, or 5 × the median pause if that is longer.
 * With fewer than two bursts (an even stream, or a single round) the slope says nothing and the
 * caller counts over the window instead.
 */
export function burstRate(completionsMs: Float64Array): BurstRate {
  const n = completionsMs.length
  if (n < 3) return { rps: null, bursts: 0 }
  const at = (i: number) => completionsMs[i] ?? 0
  const gaps = new Float64Array(n - 1)
  for (let i = 1; i < n; i += 1) gaps[i - 1] = at(i) - at(i - 1)
  const threshold = Math.max(250, 5 * (percentile(gaps.slice().sort(), 50) ?? 0))
  let bursts = 1
  for (const gap of gaps) if (gap > threshold) bursts += 1
  if (bursts < 2) return { rps: null, bursts }
  let meanT = 0
  for (let i = 0; i < n; i += 1) meanT += at(i) / n
  const meanI = (n - 1) / 2
  let covariance = 0
  let variance = 0
  for (let i = 0; i < n; i += 1) {
    covariance += (at(i) - meanT) * (i - meanI)
    variance += (at(i) - meanT) ** 2
  }
  return { rps: variance > 0 ? (covariance / variance) * 1000 : null, bursts }
}

/** Nearest-rank percentile of a sorted sample, in the sample's unit. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? null
}

/** A growable list of latencies that sorts as numbers. */
export class Samples {
  #values = new Float64Array(1024)
  #length = 0
  push(value: number) {
    if (this.#length === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2)
      bigger.set(this.#values)
      this.#values = bigger
    }
    this.#values[this.#length++] = value
  }
  get length() {
    return this.#length
  }
  sorted() {
    return this.#values.slice(0, this.#length).sort()
  }
}
