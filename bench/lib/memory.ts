/**
 * Peak resident memory of a process during one scenario, read from /proc (Linux only; elsewhere the
 * bench reports no RSS rather than a wrong one).
 */
import { readFileSync, writeFileSync } from 'node:fs'

function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
    return match?.[1] ? Number(match[1]) : null
  } catch {
    return null
  }
}

export interface MemoryWatch {
  /** Peak RSS in MB since the watch started, or null when /proc could not be read. */
  stop(): number | null
}

/**
 * Starts watching `pid`. The kernel's high-water mark (VmHWM) catches spikes between samples, but it
 * covers the whole life of the process: writing 5 to clear_refs resets it (Linux 4.0+), so it
 * measures this scenario alone. Where that reset is refused, only the sampled VmRSS counts, since an
 * unreset VmHWM would include start-up and earlier scenarios.
 *
 * Several pids (a WORKERS > 1 server: its primary and workers) report the sum of their peaks, an
 * upper bound of the peak of their sum.
 */
export function watchMemory(pids: number | readonly number[], intervalMs = 100): MemoryWatch {
  const watches = (typeof pids === 'number' ? [pids] : pids).map((pid) => watchOne(pid, intervalMs))
  return {
    stop() {
      const peaks = watches.map((w) => w.stop())
      return peaks.some((p) => p === null) ? null : peaks.reduce<number>((sum, p) => sum + (p ?? 0), 0)
    },
  }
}

function watchOne(pid: number, intervalMs: number): MemoryWatch {
  let hwmReset = false
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    hwmReset = true
  } catch {
    hwmReset = false
  }
  let peakKb = readStatusKb(pid, 'VmRSS') ?? 0
  const sample = () => {
    peakKb = Math.max(peakKb, readStatusKb(pid, 'VmRSS') ?? 0)
  }
  const timer = setInterval(sample, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      sample()
      if (hwmReset) peakKb = Math.max(peakKb, readStatusKb(pid, 'VmHWM') ?? 0)
      return peakKb > 0 ? Math.round(peakKb / 1024) : null
    },
  }
}
