/* eslint-disable no-console -- the entry point is where the process talks to its operator */
import cluster from 'node:cluster'

import { SecretKeyError } from '@gatehouse/auth'
import { dbInfo } from '@gatehouse/db'

import { describeDatabase, runPrimary, WORKER_READY } from './cluster.js'
import { ConfigError, loadConfig } from './config.js'
import { resolveSecretKey, secretKeyErrorLine } from './secret-key.js'

/** A configuration the server cannot start with: one line each, naming the variable. */
function refuse(lines: string[]): never {
  for (const line of lines) console.error(`gatehouse: invalid configuration: ${line}`)
  process.exit(1)
}

async function main() {
  let config
  try {
    const resolved = await resolveSecretKey(loadConfig(process.env))
    config = resolved.config
    // Workers resolve the same file without a word: the primary has said it once.
    if (resolved.warning && !cluster.isWorker) console.error(`gatehouse: warning: ${resolved.warning}`)
  } catch (err) {
    if (err instanceof ConfigError) refuse(err.lines)
    throw err
  }
  if (config.workers > 1 && cluster.isPrimary) {
    // The primary serves nothing itself, so it never loads the app (cluster.ts).
    return runPrimary(config)
  }
  // A worker talks to its operator through the primary: it reports ready to it, and only its errors
  // reach the terminal (its stdio is the primary's).
  const worker = cluster.isWorker
  const { startApp } = await import('./app.js')
  const app = await startApp({
    config,
    onError: (error, path) => console.error(`gatehouse: unexpected error in ${path ?? 'request'}:`, error),
  })
  if (worker) process.send?.({ type: WORKER_READY, url: app.url })
  else console.log(`gatehouse: listening on ${app.url} — database: ${describeDatabase(config, dbInfo(app.db))}`)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    if (!worker) console.log(`gatehouse: ${signal} received, finishing in-flight requests`)
    // A request that never ends must not keep the process alive forever.
    setTimeout(() => {
      console.error('gatehouse: shutdown took longer than 10 s, exiting')
      process.exit(1)
    }, 10_000).unref()
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('gatehouse: error while shutting down:', err)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((err: unknown) => {
  // Stored secrets that SECRET_KEY does not open: say so, rather than start and fail every signature.
  if (err instanceof SecretKeyError) refuse([secretKeyErrorLine(err)])
  console.error(`gatehouse: failed to start: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
