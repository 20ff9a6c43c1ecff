/* eslint-disable no-console -- the primary is where a clustered server talks to its operator */
/**
 * WORKERS > 1: a node:cluster primary that serves nothing itself. It migrates the database once,
 * forks the workers (each one a whole server, main.ts → startApp, sharing the listening socket
 * through the primary), announces one "listening on" line when every worker serves, replaces a
 * worker that dies, and stops them all on SIGTERM or SIGINT.
 *
 * The workers share nothing but the database. On Postgres each has its own pool. With the embedded
 * PGlite database the primary opens the data folder and serves it on its Unix socket
 * (packages/db/src/embedded.ts), and the workers connect to that socket like the CLI does.
 */
import type { Worker } from 'node:cluster'
import cluster from 'node:cluster'

import type { Db, DbInfo } from '@gatehouse/db'
import { createDb, dbInfo, migrate } from '@gatehouse/db'

import type { Config } from './config.js'
import type { ConfigWithSecretKey } from './secret-key.js'
import { sealStoredSecrets, secretBoxFor } from './stored-secrets.js'

/** The message a worker sends its primary once it serves. */
export const WORKER_READY = 'gatehouse:ready'

// A worker gives its in-flight requests 10 s (main.ts) and then exits by itself; this is the
// primary's patience on top of that.
const STOP_GRACE_MS = 12_000
const RESTART_BASE_DELAY_MS = 100
const RESTART_MAX_DELAY_MS = 10_000
// A worker that dies sooner than this after it started counts as dying at start.
const STABLE_AFTER_MS = 10_000
// Workers dying at start this many times in a row means they never will start: give up.
const MAX_FAILED_STARTS = 5

/** The database part of the "listening on" line. */
export function describeDatabase(config: Config, info: DbInfo): string {
  return info.backend === 'pglite'
    ? `embedded PGlite in ${config.dataDir} (psql -h ${info.socketDir ?? config.dataDir} -U postgres postgres)`
    : 'Postgres (DATABASE_URL)'
}

interface Slot {
  /** 1…WORKERS: the place a worker fills; a replacement takes its predecessor's. */
  index: number
  startedAt: number
  ready: boolean
}

function describeExit(code: number | null, signal: string | null) {
  return signal ? `was killed by ${signal}` : `exited with code ${String(code)}`
}

/**
 * Runs the primary until it is stopped; exits the process with 0 when every worker stopped cleanly.
 *
 * @example
 * if (config.workers > 1 && cluster.isPrimary) await runPrimary(config)
 */
export async function runPrimary(config: ConfigWithSecretKey): Promise<void> {
  // Once here, before any worker: a failing migration is reported once instead of by every worker
  // in a restart loop. Workers still call migrate(), which then finds nothing to do (and its
  // advisory lock keeps concurrent starts safe anyway).
  const db: Db = await createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 })
  let info: DbInfo
  try {
    await migrate(db)
    // Stored secrets SECRET_KEY does not open stop the start here, once, not in every worker.
    await sealStoredSecrets(db, secretBoxFor(config))
    info = dbInfo(db)
  } catch (err) {
    await db.destroy().catch(() => undefined)
    throw err
  }
  // Only the holder of an embedded folder has a reason to stay connected: it serves the workers.
  const holdsDatabase = info.backend === 'pglite' && info.holder === true
  if (!holdsDatabase) await db.destroy()
  const release = () => (holdsDatabase ? db.destroy() : Promise.resolve())

  const slots = new Map<Worker, Slot>()
  const restartTimers = new Set<NodeJS.Timeout>()
  let url: string | null = null
  let announced = false
  let failedStarts = 0
  let stopping = false
  let exitCode = 0

  const fork = (index: number) => {
    // The thread pool size must be in a process's environment before it starts: the primary is
    // the one place that can set it for the workers.
    const worker = cluster.fork({ UV_THREADPOOL_SIZE: String(config.workerThreadpoolSize) })
    slots.set(worker, { index, startedAt: Date.now(), ready: false })
    worker.on('message', (message: unknown) => {
      const m = message as { type?: unknown; url?: unknown } | null
      if (m?.type !== WORKER_READY || typeof m.url !== 'string') return
      const slot = slots.get(worker)
      if (slot) slot.ready = true
      url ??= m.url
      if (announced) {
        console.log(`gatehouse: worker ${index} serves again (pid ${worker.process.pid ?? '?'})`)
      } else if ([...slots.values()].filter((s) => s.ready).length === config.workers) {
        announced = true
        const pids = [...slots.keys()].map((w) => w.process.pid).join(', ')
        console.log(
          `gatehouse: listening on ${url} — database: ${describeDatabase(config, info)} — ` +
            `${config.workers} workers (pids ${pids})`,
        )
      }
    })
  }

  const finish = async () => {
    for (const timer of restartTimers) clearTimeout(timer)
    await release().catch((err: unknown) => {
      console.error('gatehouse: error while closing the database:', err)
      exitCode = 1
    })
    process.exit(exitCode)
  }

  const stopAll = (why: string) => {
    if (stopping) return
    stopping = true
    console.log(`gatehouse: ${why}, stopping ${slots.size} worker${slots.size === 1 ? '' : 's'}`)
    for (const timer of restartTimers) clearTimeout(timer)
    restartTimers.clear()
    if (slots.size === 0) return void finish()
    for (const worker of slots.keys()) worker.process.kill('SIGTERM')
    setTimeout(() => {
      console.error(`gatehouse: ${slots.size} workers still running after ${STOP_GRACE_MS / 1000} s, killing them`)
      for (const worker of slots.keys()) worker.process.kill('SIGKILL')
      exitCode = 1
    }, STOP_GRACE_MS).unref()
  }

  cluster.on('exit', (worker, code, signal) => {
    const slot = slots.get(worker)
    slots.delete(worker)
    if (!slot) return
    const pid = worker.process.pid ?? '?'
    if (stopping) {
      // A worker stopped while still starting has no handler yet and dies of the SIGTERM itself.
      if (code !== 0 && signal !== 'SIGTERM') exitCode = 1
      if (slots.size === 0) void finish()
      return
    }
    if (!announced) {
      // Its own error is above (workers share the primary's stdout and stderr).
      console.error(`gatehouse: worker ${slot.index} (pid ${pid}) ${describeExit(code, signal)} before it served`)
      exitCode = 1
      return stopAll('a worker could not start')
    }
    const diedAtStart = !slot.ready || Date.now() - slot.startedAt < STABLE_AFTER_MS
    failedStarts = diedAtStart ? failedStarts + 1 : 0
    if (failedStarts >= MAX_FAILED_STARTS) {
      console.error(
        `gatehouse: worker ${slot.index} (pid ${pid}) ${describeExit(code, signal)}; workers died at start ` +
          `${failedStarts} times in a row, giving up`,
      )
      exitCode = 1
      return stopAll('giving up on workers that die at start')
    }
    // Back off while replacements keep dying, so a broken dependency is not hammered.
    const delay = Math.min(RESTART_MAX_DELAY_MS, RESTART_BASE_DELAY_MS * 2 ** failedStarts)
    console.error(
      `gatehouse: worker ${slot.index} (pid ${pid}) ${describeExit(code, signal)}; starting a replacement in ${delay} ms`,
    )
    const timer = setTimeout(() => {
      restartTimers.delete(timer)
      if (!stopping) fork(slot.index)
    }, delay)
    restartTimers.add(timer)
  })

  process.on('SIGTERM', () => stopAll('SIGTERM received'))
  process.on('SIGINT', () => stopAll('SIGINT received'))

  for (let index = 1; index <= config.workers; index++) fork(index)
}
