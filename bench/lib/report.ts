/**
 * The bench's report: one JSON document (bench/results/latest.json) and its markdown rendering
 * (latest.md, also printed). It states numbers and whether issue 6's targets are met; it never
 * fails a run on them.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { REPO_ROOT } from './children.js'

export interface ScenarioResult {
  id: string
  title: string
  /** Requests (for refresh chains: successful rotations, for bcrypt: hashes) per second. */
  rps: number | null
  p50Ms: number | null
  p99Ms: number | null
  /** No answer, or an answer other than the expected status. */
  errors: number | null
  non2xx: number | null
  expectedStatus: number | null
  statusCounts: Record<string, number>
  responses: number | null
  durationSeconds: number | null
  /** Of the process under test: the baseline server, the Gatehouse server, or the bcrypt child. */
  peakRssMb: number | null
  ratioToBaseline: number | null
  /** The baseline rate the ratio divides by: the mean of the slots right before and after, or the run's first. */
  baselineRps?: number | null
  /** The workers scenario: its rate ÷ the JWT scenario's on one process (issue 6 wants ≥ 1.6). */
  scaling?: number | null
  note?: string
  /** Set when the scenario could not run; its numbers are then null. */
  failed?: string
}

export interface Target {
  target: string
  measured: string
  /** null: not measurable in this run (not built yet, or measured on another database than the target names). */
  met: boolean | null
  note?: string
}

export interface Report {
  generatedAt: string
  wallSeconds: number
  mode: 'quick' | 'full'
  settings: {
    connections: number
    /** Connections of the loads that wait on bcrypt (login, register, the login storm's logins). */
    hashConnections: number
    durationSeconds: number
    warmupSeconds: number
    bcryptCost: number
    threadpoolSize: string
    database: string
    throttles: string
    server: string
    /** `--pin`: which CPUs the process under test and the load driver ran on; 'none' otherwise. */
    placement: string
  }
  machine: {
    cpus: number
    cpuModel: string
    node: string
    memoryGb: number
    loadAverageStart: number[]
    loadAverageEnd: number[]
  }
  git: { commit: string | null; dirty: boolean | null }
  ready: {
    firstStartMs: number | null
    firstListeningMs: number | null
    restartMs: number | null
    restartListeningMs: number | null
    /** The server's RSS once ready, before any load. */
    idleRssMb: number | null
  }
  scenarios: ScenarioResult[]
  loginToBcrypt: number | null
  targets: Target[]
}

const fmt = {
  int: (n: number | null) => (n === null ? '—' : Math.round(n).toLocaleString('en-US')),
  ms: (n: number | null) =>
    n === null ? '—' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'),
  rate: (n: number | null) => (n === null ? '—' : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US')),
  ratio: (n: number | null) => (n === null ? '—' : n < 0.001 ? '<0.001×' : `${n.toFixed(n < 0.1 ? 3 : 2)}×`),
  load: (l: number[]) => l.map((n) => n.toFixed(2)).join(' / '),
}

function table(rows: string[][]): string {
  const [head, ...body] = rows
  if (!head) return ''
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n')
}

export function scenarioTable(scenarios: ScenarioResult[]): string {
  const rows = scenarios.map((s) =>
    s.failed
      ? [s.title, `failed: ${s.failed.split('\n')[0]?.slice(0, 120) ?? ''}`, '', '', '', '', '', '', '']
      : [
          s.title,
          fmt.rate(s.rps),
          fmt.ms(s.p50Ms),
          fmt.ms(s.p99Ms),
          fmt.int(s.errors),
          s.non2xx === null
            ? '—'
            : `${fmt.int(s.non2xx)}${s.expectedStatus && s.expectedStatus >= 300 ? ' (expected)' : ''}`,
          fmt.int(s.peakRssMb),
          fmt.ratio(s.ratioToBaseline),
          s.id === 'baseline' ? '' : fmt.rate(s.ratioToBaseline === null ? null : (s.baselineRps ?? null)),
        ],
  )
  const head = ['scenario', 'rps', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'peak RSS MB', '× baseline', 'baseline rps']
  return table([head, ...rows])
}

function scalingLine(scenarios: ScenarioResult[]): string {
  const workers = scenarios.find((x) => x.id === 'workers' && !x.failed)
  if (!workers) return ''
  const scaling = workers.scaling ?? null
  return ` JWT scenario from WORKERS=1 to WORKERS=2: ${scaling === null ? '—' : `${scaling.toFixed(2)}×`} (the load driver shares the machine).`
}

export function renderMarkdown(r: Report): string {
  const s = r.settings
  const notes = r.scenarios.filter((x) => x.note && !x.failed).map((x) => `- **${x.title}**: ${x.note}`)
  const targetRows = r.targets.map((t) => [
    t.target,
    t.measured,
    t.met === null ? 'not measured' : t.met ? 'met' : 'not met',
    t.note ?? '',
  ])
  return [
    `# Gatehouse bench: ${r.mode} run, ${r.generatedAt}`,
    '',
    `- machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, Node ${r.machine.node}; ` +
      `load average (1/5/15 min) ${fmt.load(r.machine.loadAverageStart)} at start, ${fmt.load(r.machine.loadAverageEnd)} at end`,
    `- server: ${s.server}; database: ${s.database}; throttles ${s.throttles}`,
    `- CPU placement: ${s.placement}`,
    `- load: ${s.connections} connections, ${s.durationSeconds} s per scenario after ${s.warmupSeconds} s of warm-up; ` +
      `loads that hash (login, register, the storm's logins): ${s.hashConnections} connections, no warm-up, ` +
      `a window of at least 2.5 rounds of the hash queue, rate from the slope of completions over time; bcrypt cost ${s.bcryptCost}, UV_THREADPOOL_SIZE ${s.threadpoolSize}`,
    `- commit: ${r.git.commit ?? 'unknown'}${r.git.dirty ? ' (with uncommitted changes)' : ''}; run took ${r.wallSeconds.toFixed(0)} s`,
    '',
    scenarioTable(r.scenarios),
    '',
    'Each ratio divides by the mean of the baseline measured right before and right after that scenario (the "baseline rps" ' +
      "column; the bcrypt-bound rows use the run's first): on a shared machine capacity drifts within minutes, and a ratio " +
      'should compare like with like.',
    '',
    `Ready to serve (spawn → first 200 from /healthz): ${fmt.int(r.ready.firstStartMs)} ms on first start ` +
      `(listening line at ${fmt.int(r.ready.firstListeningMs)} ms), ${fmt.int(r.ready.restartMs)} ms on restart ` +
      `with the database already there (listening at ${fmt.int(r.ready.restartListeningMs)} ms). ` +
      `Server RSS once ready, before any load: ${fmt.int(r.ready.idleRssMb)} MB` +
      (s.database.startsWith('embedded') ? ' (the embedded PGlite database runs inside the server process).' : '.'),
    '',
    `Login ÷ bare bcrypt hash rate: ${r.loginToBcrypt === null ? '—' : r.loginToBcrypt.toFixed(2)}.` +
      scalingLine(r.scenarios),
    '',
    ...(notes.length ? ['Notes:', '', ...notes, ''] : []),
    '## Targets of issue 6',
    '',
    table([['target', 'measured', 'status', 'note'], ...targetRows]),
    '',
  ].join('\n')
}

export function writeReport(report: Report): { json: string; md: string } {
  const dir = join(REPO_ROOT, 'bench', 'results')
  mkdirSync(dir, { recursive: true })
  const json = join(dir, 'latest.json')
  const md = join(dir, 'latest.md')
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(md, renderMarkdown(report))
  return { json, md }
}
