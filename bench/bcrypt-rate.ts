/**
 * The bare bcrypt hash rate: what login's password check could reach if nothing else cost
 * anything. Same library, same cost, same libuv thread pool size as the server (inherited
 * UV_THREADPOOL_SIZE, default 4), in a process of its own.
 */
import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'

import bcrypt from 'bcrypt'

import type { BcryptResult, BcryptSpec } from './lib/protocol.js'
import { burstRate, percentile, readSpec, Samples } from './lib/protocol.js'

async function main() {
  const spec = await readSpec<BcryptSpec>()
  // The server hashes SHA-256 hex digests (Django's bcrypt_sha256), so hash inputs of that shape.
  const input = createHash('sha256').update('Tr1cky-passphrase-for-load').digest('hex')
  // One salt for all: hash(input, rounds) would queue a genSalt job before each hash, and a
  // login's compare is one job too.
  const salt = bcrypt.genSaltSync(spec.cost)
  const latencies = new Samples()
  const completions = new Samples()
  const start = performance.now()
  const measureFrom = start + spec.warmupSeconds * 1000
  const deadline = measureFrom + spec.durationSeconds * 1000

  // `concurrency` hashes always in flight, so the thread pool never idles.
  async function worker() {
    while (performance.now() < deadline) {
      const sent = performance.now()
      await bcrypt.hash(input, salt)
      const done = performance.now()
      // Completions inside the window, whenever they were sent: a hash can take longer than a
      // quick window.
      if (done >= measureFrom && done <= deadline) {
        latencies.push(done - sent)
        completions.push(done)
      }
    }
  }
  const workers = Array.from({ length: spec.concurrency }, () => worker())
  // Hashes still queued at the deadline are not waited for: the process exits below.
  await new Promise((resolve) => setTimeout(resolve, deadline - performance.now() + 5))
  void Promise.all(workers)

  const sorted = latencies.sorted()
  const result: BcryptResult = {
    hashes: latencies.length,
    durationSeconds: spec.durationSeconds,
    countRps: latencies.length / spec.durationSeconds,
    burst: burstRate(completions.sorted()),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    threadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
  }
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0))
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
  process.exit(1)
})
