/**
 * WORKERS: several server processes under a node:cluster primary, as `pnpm start` runs them, on
 * the embedded database (workers reach it through the primary's socket) and on Postgres.
 */
import { request } from 'node:http'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { availableParallelism } from 'node:os'

import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { loadConfig } from '../src/config.js'
import { getFresh, mutation, query } from './helpers/http.js'
import type { ProcessStore, ServerProcess } from './helpers/process.js'
import { createProcessStore, startServerProcess } from './helpers/process.js'

const PASSWORD = 'Tr1cky-passphrase'

/** The worker pids the primary's "listening on" line names. */
function workerPids(server: ServerProcess): number[] {
  const match = /— (\d+) workers \(pids ([\d, ]+)\)/.exec(server.output())
  if (!match?.[2]) throw new Error(`no worker pids in:\n${server.output()}`)
  return match[2].split(',').map((pid) => Number(pid.trim()))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Which workers answer `count` requests on fresh connections. */
async function workersAnswering(url: string, count: number) {
  const seen = new Set<string>()
  for (let i = 0; i < count; i++) {
    const { status, worker } = await getFresh(`${url}/healthz`)
    expect(status).toBe(200)
    if (worker !== undefined) seen.add(worker)
  }
  return seen
}

describe('WORKERS and the sizes derived from the core count (config)', () => {
  const cores = availableParallelism()

  it('defaults to one process; auto means one per core; a whole number is taken as is', () => {
    expect(loadConfig({}).workers).toBe(1)
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe(cores)
    expect(loadConfig({ WORKERS: ' AUTO ' }).workers).toBe(cores)
    expect(loadConfig({ WORKERS: '3' }).workers).toBe(3)
  })

  it('refuses anything else with one line naming WORKERS', () => {
    for (const bad of ['0', '-1', '1.5', 'two', '1025', 'auto2']) {
      expect(() => loadConfig({ WORKERS: bad }), bad).toThrow(
        `WORKERS: expected auto or a whole number from 1 to 1024, got "${bad.toLowerCase()}"`,
      )
    }
  })

  it('splits the pool budget across workers, and an explicit DB_POOL_SIZE wins', () => {
    expect(loadConfig({ WORKERS: '1' }).dbPoolSize).toBe(Math.max(4, Math.max(10, 2 * cores)))
    expect(loadConfig({ WORKERS: '2' }).dbPoolSize).toBe(Math.max(4, Math.ceil(Math.max(10, 2 * cores) / 2)))
    expect(loadConfig({ WORKERS: '1000' }).dbPoolSize).toBe(4)
    expect(loadConfig({ WORKERS: '4', DB_POOL_SIZE: '7' }).dbPoolSize).toBe(7)
  })

  it('gives workers a thread pool from the cores and keeps hashing below the pool size', () => {
    const one = loadConfig({})
    expect(one.threadpoolSize).toBe(4)
    expect(one.passwordHashConcurrency).toBe(Math.max(1, Math.min(cores, 3)))
    expect(loadConfig({ WORKERS: '1000' }).workerThreadpoolSize).toBe(4)
    expect(loadConfig({ WORKERS: '1', UV_THREADPOOL_SIZE: '16' }).workerThreadpoolSize).toBe(16)
    const sized = loadConfig({ UV_THREADPOOL_SIZE: '2' })
    expect([sized.threadpoolSize, sized.passwordHashConcurrency]).toEqual([2, 1])
    expect(loadConfig({ UV_THREADPOOL_SIZE: '8', PASSWORD_HASH_CONCURRENCY: '5' }).passwordHashConcurrency).toBe(5)
  })

  it('refuses bad pool and thread settings, naming each', () => {
    expect(() => loadConfig({ DB_POOL_SIZE: '0' })).toThrow(/^DB_POOL_SIZE: expected at least 1$/)
    expect(() => loadConfig({ UV_THREADPOOL_SIZE: 'lots' })).toThrow(
      /^UV_THREADPOOL_SIZE: expected a whole number from 1 to 1024$/,
    )
    expect(() => loadConfig({ PASSWORD_HASH_CONCURRENCY: '0' })).toThrow(
      /^PASSWORD_HASH_CONCURRENCY: expected at least 1$/,
    )
  })
})

describe(`${TEST_BACKEND}: WORKERS=2 as separate processes`, () => {
  let store: ProcessStore
  let env: Record<string, string>
  beforeAll(async () => {
    store = await createProcessStore('gh_workers')
    env = { ...store.env, WORKERS: '2' }
  })
  afterAll(() => store?.dispose())

  it('two worker processes serve, share users and tokens, and SIGTERM stops them all with 0', async () => {
    await using server = await startServerProcess(env)
    const pids = workerPids(server)
    expect(pids).toHaveLength(2)
    expect(new Set(pids).size).toBe(2)
    expect(server.output().match(/listening on/g)).toHaveLength(1)
    // The kernel hands new connections to the workers in turn: both answer.
    expect([...(await workersAnswering(server.url, 10))].sort()).toEqual(['1', '2'])

    // Users and tokens live in the database: a token one worker issued works on the other.
    const u = `w${Date.now()}`
    expect((await mutation(server.url, 'auth.register', { username: u, password: PASSWORD })).status).toBe(200)
    const { access } = (await mutation(server.url, 'auth.login', { username: u, password: PASSWORD })).body.result.data
    const answeredBy = new Set<string>()
    for (let i = 0; i < 10; i++) {
      const res = await new Promise<{ status: number; worker: string | undefined }>((resolve, reject) => {
        const req = request(
          `${server.url}/trpc/auth.me`,
          { agent: false, headers: { connection: 'close', authorization: `Bearer ${access}` } },
          (r) => {
            r.resume()
            r.on('end', () => resolve({ status: r.statusCode ?? 0, worker: r.headers['x-gatehouse-worker'] as string }))
          },
        )
        req.on('error', reject)
        req.end()
      })
      expect(res.status).toBe(200)
      answeredBy.add(res.worker ?? '')
    }
    expect(answeredBy.size).toBe(2)

    expect(await server.stop()).toBe(0)
    expect(server.output()).toContain('SIGTERM received, stopping 2 workers')
    for (const pid of pids) await until(`worker ${pid} to exit`, () => (alive(pid) ? undefined : true), 5000)
  })

  it('a crashed worker is replaced and the server keeps answering', async () => {
    await using server = await startServerProcess(env)
    const [victim, survivor] = workerPids(server) as [number, number]
    process.kill(victim, 'SIGKILL')
    await until('the primary to notice', () =>
      /worker \d \(pid \d+\) was killed by SIGKILL; starting a replacement in \d+ ms/.test(server.output())
        ? true
        : undefined,
    )
    // Every request in between is answered by the survivor; then the replacement (id 3) joins.
    await until('the replacement to answer', async () =>
      (await workersAnswering(server.url, 4)).has('3') ? true : undefined,
    )
    expect(server.output()).toMatch(/worker \d serves again \(pid \d+\)/)
    expect(alive(survivor)).toBe(true)
    expect(await server.stop()).toBe(0)
  })

  it('a single process sends no worker header: the wire contract is unchanged', async () => {
    await using server = await startServerProcess({ ...store.env })
    expect(await getFresh(`${server.url}/healthz`)).toEqual({ status: 200, worker: undefined })
    expect((await query(server.url, 'auth.catalogue')).headers.has('x-gatehouse-worker')).toBe(false)
  })

  it('workers that cannot start make the primary give up with a clear message and exit 1', async () => {
    const taken = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()))
    try {
      const { port } = taken.address() as AddressInfo
      const message = await startServerProcess({ ...env, HOST: '127.0.0.1', PORT: String(port) }).then(
        async (s) => {
          await s.stop()
          return 'started'
        },
        (err: Error) => err.message,
      )
      expect(message).toMatch(/server exited with 1 before listening/)
      expect(message).toMatch(/EADDRINUSE/)
      expect(message).toMatch(/gatehouse: worker \d \(pid \d+\) exited with code 1 before it served/)
      expect(message).toContain('gatehouse: a worker could not start, stopping')
    } finally {
      taken.close()
    }
  })

  // Postgres only: dropping the database is how a test can make every later worker fail at start.
  it.runIf(Boolean(process.env['DATABASE_URL']))(
    'replacements that keep dying at start make the primary back off, then give up and exit 1',
    async () => {
      const own = await createProcessStore('gh_wgiveup')
      try {
        const server = await startServerProcess({ ...own.env, WORKERS: '2' })
        const exited = new Promise<number | null>((r) => server.child.once('exit', (code) => r(code)))
        await own.dispose()
        process.kill(workerPids(server)[0] ?? 0, 'SIGKILL')
        expect(await exited).toBe(1)
        const out = server.output()
        // 200, 400, 800, 1600 ms: the delay doubles with each worker that dies at start.
        const delays = [...out.matchAll(/starting a replacement in (\d+) ms/g)].map((m) => Number(m[1]))
        expect(delays).toEqual([200, 400, 800, 1600])
        expect(out).toMatch(/workers died at start 5 times in a row, giving up/)
        expect(out).toContain('gatehouse: giving up on workers that die at start, stopping 1 worker')
      } finally {
        await own.dispose()
      }
    },
    120_000,
  )

  it('a bad WORKERS stops the server before it forks, with one line naming it', async () => {
    const message = await startServerProcess({ ...env, WORKERS: 'many' }).then(
      () => 'started',
      (err: Error) => err.message,
    )
    expect(message).toMatch(
      /gatehouse: invalid configuration: WORKERS: expected auto or a whole number from 1 to 1024, got "many"/,
    )
  })
})
