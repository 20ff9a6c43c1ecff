/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes on exit) and says where the time went:
 * self time per function and per place (a package under node_modules, a workspace package, or
 * node's own internals), as a markdown table for docs/performance.md.
 */
import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { SourceMap } from 'node:module'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  hitCount?: number
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  totalMs: number
  idleMs: number
  places: { place: string; ms: number; share: number }[]
  functions: { name: string; place: string; ms: number; share: number }[]
}

/** `node_modules/.pnpm/jose@6.1.0/node_modules/jose/…` → `jose`; `packages/auth/src/…` → `@gatehouse/auth`. */
export function placeOf(url: string): string {
  if (url === '') return '(native / V8)'
  if (url.startsWith('node:')) return 'node internals'
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url)
  if (module?.[1]) return module[1]
  const workspace = /\/(apps|packages)\/([^/]+)\//.exec(url)
  if (workspace) return workspace[1] === 'apps' ? `apps/${workspace[2]}` : `@gatehouse/${workspace[2]}`
  return url.replace(/^file:\/\//, '')
}

const sourceMaps = new Map<string, SourceMap | null>()

/**
 * The built server is one bundle (apps/server/dist/main.js): its source map gives each frame back
 * its TypeScript file and line, so time spent in @gatehouse/auth is not counted as apps/server.
 */
function original(frame: ProfileNode['callFrame']): { url: string; lineNumber: number } {
  if (!frame.url.startsWith('file://') || !frame.url.endsWith('.js')) return frame
  let map = sourceMaps.get(frame.url)
  if (map === undefined) {
    const path = `${fileURLToPath(frame.url)}.map`
    map = existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8')) as never) : null
    sourceMaps.set(frame.url, map)
  }
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber)
  if (!entry || !('originalSource' in entry)) return frame
  return { url: new URL(entry.originalSource, frame.url).href, lineNumber: entry.originalLine }
}

/**
 * `window` (µs on the monotonic clock V8 stamps samples with, the same as `process.hrtime` in any
 * process on the machine) keeps only the samples taken under load, leaving start-up out.
 */
export async function summarizeProfile(
  file: string,
  opts: { top?: number; window?: { fromUs: number; toUs: number } } = {},
): Promise<ProfileSummary> {
  const top = opts.top ?? 15
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (opts.window && (at < opts.window.fromUs || at > opts.window.toUs)) return
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta)
  })
  let totalUs = 0
  let idleUs = 0
  const places = new Map<string, number>()
  const functions = new Map<string, { place: string; us: number }>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (!node) continue
    const { functionName } = node.callFrame
    const { url, lineNumber } = original(node.callFrame)
    totalUs += us
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') {
      if (functionName === '(idle)') {
        idleUs += us
        continue
      }
    }
    const place = functionName.startsWith('(') ? functionName : placeOf(url)
    places.set(place, (places.get(place) ?? 0) + us)
    const key = `${functionName || '(anonymous)'} ${url ? `${url.split('/').slice(-1)[0]}:${lineNumber + 1}` : ''}`.trim()
    const entry = functions.get(key) ?? { place, us: 0 }
    entry.us += us
    functions.set(key, entry)
  }
  const busyUs = totalUs - idleUs
  const share = (us: number) => (busyUs > 0 ? us / busyUs : 0)
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    places: [...places]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([place, us]) => ({ place, ms: us / 1000, share: share(us) })),
    functions: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, { place, us }]) => ({ name, place, ms: us / 1000, share: share(us) })),
  }
}

export function profileMarkdown(title: string, summary: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`
  const lines = [
    `#### ${title}`,
    '',
    `Busy ${(summary.totalMs - summary.idleMs).toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled under load.`,
    '',
    '| where (self time) | share of busy |',
    '| --- | --- |',
    ...summary.places.map((p) => `| ${p.place} | ${pct(p.share)} |`),
    '',
    '| function | where | share of busy |',
    '| --- | --- | --- |',
    ...summary.functions.map((f) => `| \`${f.name.replaceAll('|', '\\|')}\` | ${f.place} | ${pct(f.share)} |`),
    '',
  ]
  return lines.join('\n')
}
