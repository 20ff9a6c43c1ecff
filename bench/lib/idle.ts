/**
 * Waiting for a server to go quiet between scenarios. A load that hashes leaves work behind when
 * its driver stops: the server still runs every bcrypt job it had queued (up to connections ÷ hash
 * rate seconds). Measured in that tail, the next scenario and the baseline right before it would
 * share the machine with it.
 */
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

// /proc/<pid>/stat counts CPU time in clock ticks, 100 a second on Linux.
const TICKS_PER_SECOND = 100

/** User + system CPU seconds of `pid` (its threads included), or null without /proc. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return null
  }
}

/**
 * Resolves once `pids` together used under `busyShare` of a core over a whole `quietMs`, or after
 * `maxMs` (with how long it waited and whether it got there). Without /proc it resolves at once.
 */
export async function waitForIdle(
  pids: readonly number[],
  opts: { quietMs?: number; maxMs?: number; busyShare?: number } = {},
): Promise<{ waitedMs: number; idle: boolean }> {
  const { quietMs = 500, maxMs = 60_000, busyShare = 0.05 } = opts
  const total = () =>
    pids.reduce<number | null>((sum, pid) => {
      const s = cpuSeconds(pid)
      return sum === null || s === null ? null : sum + s
    }, 0)
  const started = performance.now()
  let before = total()
  if (before === null) return { waitedMs: 0, idle: true }
  while (performance.now() - started < maxMs) {
    await sleep(quietMs)
    const after = total()
    if (after === null) break
    if (after - before <= (busyShare * quietMs) / 1000) return { waitedMs: performance.now() - started, idle: true }
    before = after
  }
  return { waitedMs: performance.now() - started, idle: false }
}
