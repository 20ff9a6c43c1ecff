/* eslint-disable no-console -- the entry point is where the process talks to its operator */
import { dbInfo } from '@gatehouse/db'

import { startApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'

async function main() {
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.lines) console.error(`gatehouse: invalid configuration: ${line}`)
      process.exit(1)
    }
    throw err
  }
  const app = await startApp({
    config,
    onError: (error, path) => console.error(`gatehouse: unexpected error in ${path ?? 'request'}:`, error),
  })
  const info = dbInfo(app.db)
  const where =
    info.backend === 'pglite'
      ? `embedded PGlite in ${config.dataDir} (psql -h ${info.socketDir} -U postgres postgres)`
      : 'Postgres (DATABASE_URL)'
  console.log(`gatehouse: listening on ${app.url} — database: ${where}`)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`gatehouse: ${signal} received, finishing in-flight requests`)
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
  console.error(`gatehouse: failed to start: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
