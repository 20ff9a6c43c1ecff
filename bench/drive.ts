/**
 * The load driver: a separate process, so the driver's CPU is never counted as the server's. Reads
 * a DriveSpec on stdin, runs it against loopback, prints one JSON line (a DriveResult) and exits.
 *
 * Static and per-request-generated loads go through autocannon. Refresh chains cannot: each call
 * presents the token the previous one returned, so they run in a small loop of our own.
 */
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'

import autocannon from 'autocannon'

import type { DriveResult, DriveSpec, HttpLoad, LoadResult } from './lib/protocol.js'
import { burstRate, percentile, readSpec, Samples } from './lib/protocol.js'

const LOOPBACK = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/

function assertLoopback(origin: string) {
  if (!LOOPBACK.test(origin)) throw new TypeError(`the bench only sends traffic to loopback, got ${origin}`)
}

type AutocannonOptions = autocannon.Options & { warmup?: { connections: number; duration: number } }

function autocannonOptions(load: HttpLoad, durationSeconds: number, warmupSeconds: number): AutocannonOptions {
  assertLoopback(load.origin)
  const base = {
    url: load.origin,
    connections: load.connections,
    duration: durationSeconds,
    timeout: load.timeoutSeconds,
    method: load.method,
    headers: load.headers ?? {},
    ...(load.body === undefined ? {} : { body: load.body }),
    ...(warmupSeconds > 0 ? { warmup: { connections: load.connections, duration: warmupSeconds } } : {}),
  }
  const unique = load.uniqueUsers
  if (!unique) return { ...base, requests: [{ path: load.path }] }
  let counter = 0
  return {
    ...base,
    requests: [
      {
        path: load.path,
        setupRequest: (req: autocannon.Request) => {
          counter += 1
          return { ...req, body: JSON.stringify({ username: `${unique.prefix}${counter}`, password: unique.password }) }
        },
      },
    ],
  }
}

async function runAutocannon(load: HttpLoad, opts: { durationSeconds: number; warmupSeconds: number }) {
  const latencies = new Samples()
  const completions = new Samples()
  const statusCounts: Record<string, number> = {}
  // Without a callback autocannon returns its instance, which is also a thenable; the typings only
  // admit the promise.
  const instance = autocannon(
    autocannonOptions(load, opts.durationSeconds, opts.warmupSeconds),
  ) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>
  // The typings predate autocannon 8, which passes the client first: take the last three arguments.
  instance.on('response', (...args: unknown[]) => {
    const [statusCode, , responseTime] = args.slice(-3) as [number, number, number]
    statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1
    latencies.push(responseTime)
    completions.push(performance.now())
  })
  const result = await instance
  const sorted = latencies.sorted()
  return {
    responses: latencies.length,
    durationSeconds: result.duration,
    rps: latencies.length / result.duration,
    burst: burstRate(completions.sorted()),
    // Our own samples keep autocannon's sub-millisecond timings, which its histogram rounds away.
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    transportErrors: result.errors,
    statusCounts,
  } satisfies LoadResult
}

interface Reply {
  status: number
  body: string
}

function post(agent: Agent, target: { origin: string; path: string; body: string; timeoutMs: number }) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(`${target.origin}${target.path}`, {
      agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(target.body) },
      timeout: target.timeoutMs,
    })
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.end(target.body)
  })
}

/**
 * N chains, each strictly sequential: the refresh token a rotation returns is the one the next
 * rotation presents. A chain whose rotation fails stops, since its token may now be spent or its
 * family revoked; the count of broken chains is reported.
 */
async function runRefreshChains(spec: Extract<DriveSpec, { kind: 'refresh-chains' }>): Promise<DriveResult> {
  assertLoopback(spec.origin)
  const agent = new Agent({ keepAlive: true, maxSockets: spec.tokens.length })
  const latencies = new Samples()
  const completions = new Samples()
  const statusCounts: Record<string, number> = {}
  let transportErrors = 0
  let brokenChains = 0
  const start = performance.now()
  const measureFrom = start + spec.warmupSeconds * 1000
  const deadline = measureFrom + spec.durationSeconds * 1000

  async function chain(initial: string) {
    let token = initial
    while (performance.now() < deadline) {
      const sent = performance.now()
      let reply: Reply
      try {
        const body = JSON.stringify({ refresh: token })
        reply = await post(agent, {
          origin: spec.origin,
          path: '/trpc/auth.refresh',
          body,
          timeoutMs: spec.timeoutSeconds * 1000,
        })
      } catch {
        if (sent >= measureFrom) transportErrors += 1
        brokenChains += 1
        return
      }
      const done = performance.now()
      // Count what was sent inside the window and answered by its end, as autocannon does.
      const measured = sent >= measureFrom && done <= deadline
      if (measured) {
        statusCounts[reply.status] = (statusCounts[reply.status] ?? 0) + 1
        latencies.push(done - sent)
        completions.push(done)
      }
      const next = reply.status === 200 ? readRefreshToken(reply.body) : null
      if (!next) {
        if (!measured) statusCounts[reply.status] = (statusCounts[reply.status] ?? 0) + 1
        brokenChains += 1
        return
      }
      token = next
    }
  }

  await Promise.all(spec.tokens.map((token) => chain(token)))
  agent.destroy()
  const sorted = latencies.sorted()
  return {
    load: {
      responses: latencies.length,
      durationSeconds: spec.durationSeconds,
      // Rotations per second: only a 200 hands the chain its next token.
      rps: (statusCounts[200] ?? 0) / spec.durationSeconds,
      burst: burstRate(completions.sorted()),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      transportErrors,
      statusCounts,
    },
    brokenChains,
  }
}

function readRefreshToken(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { result?: { data?: { refresh?: unknown } } }
    const refresh = parsed.result?.data?.refresh
    return typeof refresh === 'string' ? refresh : null
  } catch {
    return null
  }
}

async function main() {
  const spec = await readSpec<DriveSpec>()
  let result: DriveResult
  if (spec.kind === 'autocannon') {
    const timing = { durationSeconds: spec.durationSeconds, warmupSeconds: spec.warmupSeconds }
    const [load, background] = await Promise.all([
      runAutocannon(spec.load, timing),
      // The background load covers the main load's warm-up and measured window alike.
      spec.background
        ? runAutocannon(spec.background, {
            durationSeconds: spec.durationSeconds + spec.warmupSeconds,
            warmupSeconds: 0,
          })
        : undefined,
    ])
    result = background ? { load, background } : { load }
  } else {
    result = await runRefreshChains(spec)
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
  process.exit(1)
})
