/**
 * `pnpm bench [--quick]`: starts Gatehouse as a user would, seeds it over HTTP and the CLI, then
 * drives one scenario at a time from a separate process and reports rps, latency, errors, peak
 * RSS and the ratio to a bare node:http endpoint measured in the same run (issue 6, part 1).
 *
 * It only reports: no number fails it. It exits non-zero only when it could not measure (the
 * server would not start, a driver crashed). Everything it starts, it stops, on Ctrl-C too.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

import type { Placement } from './lib/children.js'
import {
  killAllNow,
  pinProcesses,
  refuseNewChildren,
  REPO_ROOT,
  spawnTs,
  stopAll,
  waitForLine,
} from './lib/children.js'
import type { Gatehouse, GatehouseOptions } from './lib/gatehouse.js'
import { cli, login, mutate, pool, sessionCookie, startGatehouse } from './lib/gatehouse.js'
import { waitForIdle } from './lib/idle.js'
import { watchMemory } from './lib/memory.js'
import type { BcryptResult, BcryptSpec, DriveResult, DriveSpec, HttpLoad, LoadResult } from './lib/protocol.js'
import { exchange } from './lib/protocol.js'
import type { Report, ScenarioResult, Target } from './lib/report.js'
import { renderMarkdown, writeReport } from './lib/report.js'

const HELP = `usage: pnpm bench [--quick] [--cost N] [--connections N] [--hash-connections N] [--duration S]
                  [--warmup S] [--only IDS] [--pin]

  --quick          3 s per scenario after 1 s of warm-up (default: 10 s after 2 s), and the loads
                   that hash (login, register, the login storm) at 2 × UV_THREADPOOL_SIZE connections
  --cost N         bcrypt cost for the server and the bare bcrypt measurement (default 12)
  --connections N  concurrent connections, and refresh chains (default 50)
  --hash-connections N
                   connections for the loads that hash (default: --connections; 8 with --quick)
  --duration S     seconds measured per scenario
  --warmup S       seconds of unmeasured load before each scenario (none for the loads that hash,
                   which run for several rounds of the hash queue instead)
  --only IDS       comma-separated scenario ids (the baseline always runs, and bcrypt before the
                   loads that hash): healthz, trpc-public, protected-jwt, protected-token,
                   protected-session, hr-200,
                   hr-403, me, throttled-jwt, bcrypt, login, login-storm, refresh-chains, register,
                   workers
                   (workers, after the others: the JWT scenario on this server and then on a
                   WORKERS=2 server, back to back, and the ratio of the two)
  --pin            runs the process under test (Gatehouse, the baseline server, the bare bcrypt
                   child) on the last CPU and the load driver on the others (taskset), so the driver
                   never competes with the server for a core; Postgres is not pinned. Needs 2 CPUs or
                   more; skips the workers scenario, which needs more than one core

Uses DATABASE_URL when set, otherwise a fresh embedded database in a temporary folder.
Writes bench/results/latest.json and bench/results/latest.md.`

const SCENARIO_IDS = [
  'healthz',
  'trpc-public',
  'protected-jwt',
  'protected-token',
  'protected-session',
  'hr-200',
  'hr-403',
  'me',
  'throttled-jwt',
  'bcrypt',
  'login',
  'login-storm',
  'refresh-chains',
  'register',
  'workers',
] as const
type ScenarioId = (typeof SCENARIO_IDS)[number]

// Passes the server's password validators (length, not common, not like the usernames below).
const PASSWORD = 'Tr1cky-passphrase-for-load'
// Requests that wait behind bcrypt hashes queue for seconds at 50 connections; only a hung server
// should time out.
const BCRYPT_TIMEOUT_SECONDS = 60
const FAST_TIMEOUT_SECONDS = 10
// Clients still reading protected content while the login storm runs.
const STORM_READERS = 10
// A THROTTLE_USER limit no run reaches (rates take at most 9 digits): every request counted, none refused.
const THROTTLE_UNREACHED = 999_999_999

interface Options {
  quick: boolean
  connections: number
  /** For login, register and the login storm's logins. */
  hashConnections: number
  durationSeconds: number
  warmupSeconds: number
  cost: number
  only: ReadonlySet<ScenarioId> | null
  pin: Placement | null
}

function wholeNumber(name: string, value: string | undefined, opts: { fallback: number; min: number }): number {
  const { fallback, min } = opts
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} expects a whole number ≥ ${min}, got "${value}"`)
  return n
}

class UsageError extends Error {
  override readonly name = 'UsageError'
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      cost: { type: 'string' },
      connections: { type: 'string' },
      'hash-connections': { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      pin: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) return null
  let only: Set<ScenarioId> | null = null
  if (values.only !== undefined) {
    const ids = values.only
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean)
    const unknown = ids.filter((id) => !(SCENARIO_IDS as readonly string[]).includes(id))
    if (unknown.length) throw new UsageError(`--only: unknown scenario ${unknown.join(', ')}`)
    only = new Set(ids as ScenarioId[])
  }
  const cost = wholeNumber('cost', values.cost, { fallback: 12, min: 4 })
  if (cost > 31) throw new UsageError('--cost expects 4 to 31')
  const connections = wholeNumber('connections', values.connections, { fallback: 50, min: 1 })
  return {
    quick: values.quick,
    connections,
    // A round of the hash queue takes connections ÷ hash rate: about 6 s at 50 connections and
    // cost 12 on two cores, too long for a quick run's window. Past the pool size more connections
    // add only queueing, not throughput, so the quick run keeps the pool busy and no more.
    hashConnections: wholeNumber('hash-connections', values['hash-connections'], {
      fallback: values.quick ? Math.min(connections, 2 * threadpoolSize()) : connections,
      min: 1,
    }),
    durationSeconds: wholeNumber('duration', values.duration, { fallback: values.quick ? 3 : 10, min: 1 }),
    warmupSeconds: wholeNumber('warmup', values.warmup, { fallback: values.quick ? 1 : 2, min: 0 }),
    cost,
    only,
    pin: values.pin ? placement() : null,
  }
}

/** `--pin`: the last CPU for the process under test, the others for the driver. */
function placement(): Placement {
  const n = availableParallelism()
  if (n < 2) throw new UsageError(`--pin needs at least 2 CPUs, this machine has ${n}`)
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' })
  } catch {
    throw new UsageError('--pin needs taskset (util-linux) on the PATH')
  }
  return { server: String(n - 1), driver: n === 2 ? '0' : `0-${n - 2}` }
}

// ---------------------------------------------------------------------------------------------
// Measuring

async function measure<T>(
  pids: number | readonly number[],
  run: () => Promise<T>,
): Promise<{ value: T; peakRssMb: number | null }> {
  const watch = watchMemory(pids)
  try {
    const value = await run()
    return { value, peakRssMb: watch.stop() }
  } finally {
    watch.stop()
  }
}

function drive(spec: DriveSpec): Promise<DriveResult> {
  return exchange<DriveResult>(spawnTs('bench/drive.ts', { stdin: true, role: 'driver' }), spec)
}

function sumStatuses(counts: Record<string, number>, keep: (status: number) => boolean) {
  return Object.entries(counts).reduce((sum, [status, n]) => (keep(Number(status)) ? sum + n : sum), 0)
}

/** A load that waits on bcrypt completes in bursts: its rate is the slope of its completions (burstRate). */
function hashingRps(load: Pick<LoadResult, 'rps' | 'burst'>) {
  return load.burst.rps ?? load.rps
}

/** Errors are whatever the scenario did not expect: no answer, or another status than `expected`. */
function summarise(load: LoadResult, opts: { expected: number; bcryptBound?: boolean }) {
  const { expected, bcryptBound = false } = opts
  return {
    rps: bcryptBound ? hashingRps(load) : load.rps,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    errors: load.transportErrors + sumStatuses(load.statusCounts, (s) => s !== expected),
    non2xx: sumStatuses(load.statusCounts, (s) => s < 200 || s > 299),
    expectedStatus: expected,
    statusCounts: load.statusCounts,
    responses: load.responses,
    durationSeconds: load.durationSeconds,
    ...(bcryptBound ? { note: burstNote(load) } : {}),
  }
}

function burstNote(load: { burst: LoadResult['burst']; responses: number; durationSeconds: number; rps: number }) {
  const how = load.burst.rps
    ? `rate = slope of completions over time across ${load.burst.bursts} bursts`
    : `fewer than two bursts of completions, so counted over the window`
  return `${how}; ${load.responses} completions in ${load.durationSeconds.toFixed(1)} s, counted ${load.rps.toFixed(1)}/s`
}

function describeStatuses(counts: Record<string, number>) {
  return Object.entries(counts)
    .map(([status, n]) => `${n} × ${status}`)
    .join(', ')
}

interface Run {
  opts: Options
  /** How to start another server on the same database (the workers scenario). */
  gh: GatehouseOptions
  gatehouse: Gatehouse
  /** The JWT scenario's rate on one process, once it ran: what WORKERS=2 is compared with. */
  jwtRps: number | null
  baselineRps: number | null
  /** Bare hashes per second at the run's cost, once the bcrypt scenario has run. */
  bcryptRps: number | null
  users: { plain: string; hr: string; registerPrefix: string }
}

function httpLoad(
  run: Run,
  load: Omit<HttpLoad, 'origin' | 'connections' | 'timeoutSeconds'> & Partial<HttpLoad>,
): HttpLoad {
  return {
    origin: run.gatehouse.origin,
    connections: run.opts.connections,
    timeoutSeconds: FAST_TIMEOUT_SECONDS,
    ...load,
  }
}

/**
 * How long a bcrypt-bound load runs: at least the scenario duration, and long enough for two
 * bursts of completions and some margin. A round of the hash queue takes connections ÷ hash rate
 * (about 6 s at 50 connections and cost 12 on two idle cores) and the first burst comes at the
 * end of the first round, so a shorter window may see no response at all.
 */
function bcryptWindowSeconds(run: Run) {
  const round = run.bcryptRps ? run.opts.hashConnections / run.bcryptRps : 10
  return Math.min(120, Math.max(run.opts.durationSeconds, Math.ceil(2.5 * round)))
}

async function bearer(run: Run, username: string) {
  // A fresh token per scenario: a full run outlasts the default 5-minute access token lifetime.
  const { access } = await login(run.gatehouse.origin, { username, password: PASSWORD })
  return { authorization: `Bearer ${access}` }
}

function loginLoad(run: Run) {
  return httpLoad(run, {
    method: 'POST',
    path: '/trpc/auth.login',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: run.users.plain, password: PASSWORD }),
    connections: run.opts.hashConnections,
    timeoutSeconds: BCRYPT_TIMEOUT_SECONDS,
  })
}

interface ScenarioDef {
  title: string
  run: (run: Run) => Promise<Omit<ScenarioResult, 'id' | 'title' | 'ratioToBaseline'>>
}

/** A scenario whose load autocannon drives from a static (or per-request generated) request. */
function cannon(def: { title: string; expected?: number; load: (run: Run) => Promise<HttpLoad> }): ScenarioDef {
  return {
    title: def.title,
    async run(run) {
      const load = await def.load(run)
      const { value, peakRssMb } = await measure(run.gatehouse.pids, () =>
        drive({
          kind: 'autocannon',
          load,
          durationSeconds: run.opts.durationSeconds,
          warmupSeconds: run.opts.warmupSeconds,
        }),
      )
      return { ...summarise(value.load, { expected: def.expected ?? 200 }), peakRssMb }
    },
  }
}

/**
 * A load that waits on bcrypt: no warm-up (it would only leave hashes queued into the window)
 * and a window of several hash rounds; see bcryptWindowSeconds and burstRate.
 */
function hashing(def: { title: string; load: (run: Run) => HttpLoad }): ScenarioDef {
  return {
    title: def.title,
    async run(run) {
      const load = def.load(run)
      const durationSeconds = bcryptWindowSeconds(run)
      const { value, peakRssMb } = await measure(run.gatehouse.pids, () =>
        drive({ kind: 'autocannon', load, durationSeconds, warmupSeconds: 0 }),
      )
      return { ...summarise(value.load, { expected: 200, bcryptBound: true }), peakRssMb }
    },
  }
}

function threadpoolSize() {
  const n = Number(process.env.UV_THREADPOOL_SIZE)
  return Number.isInteger(n) && n > 0 ? n : 4
}

const SCENARIOS: Record<ScenarioId, ScenarioDef> = {
  // Two floors that split a protected query's cost: node:http plus one database round trip (no
  // tRPC), and tRPC's adapter with neither authentication nor database.
  healthz: cannon({
    title: 'GET /healthz (one select 1, no tRPC)',
    load: (run) => Promise.resolve(httpLoad(run, { method: 'GET', path: '/healthz' })),
  }),
  'trpc-public': cannon({
    title: 'auth.catalogue (tRPC, no auth, no DB)',
    load: (run) => Promise.resolve(httpLoad(run, { method: 'GET', path: '/trpc/auth.catalogue' })),
  }),
  'protected-jwt': cannon({
    title: 'content.protected (JWT)',
    load: async (run) =>
      httpLoad(run, { method: 'GET', path: '/trpc/content.protected', headers: await bearer(run, run.users.plain) }),
  }),
  'protected-token': cannon({
    title: 'content.protected (opaque API token)',
    load: async (run) => {
      // auth.tokens.obtain, DRF's obtain_auth_token: the user's one key (40 hex, the same each time).
      const { token } = await mutate<{ token: string }>(run.gatehouse.origin, 'auth.tokens.obtain', {
        username: run.users.plain,
        password: PASSWORD,
      })
      return httpLoad(run, {
        method: 'GET',
        path: '/trpc/content.protected',
        headers: { authorization: `Token ${token}` },
      })
    },
  }),
  'protected-session': cannon({
    title: 'content.protected (session cookie)',
    load: async (run) => {
      // auth.session.login, DRF's SessionAuthentication: a GET needs the cookie and no CSRF token.
      const cookie = await sessionCookie(run.gatehouse.origin, { username: run.users.plain, password: PASSWORD })
      return httpLoad(run, { method: 'GET', path: '/trpc/content.protected', headers: { cookie } })
    },
  }),
  'hr-200': cannon({
    title: 'content.hr, member (200)',
    load: async (run) =>
      httpLoad(run, { method: 'GET', path: '/trpc/content.hr', headers: await bearer(run, run.users.hr) }),
  }),
  'hr-403': cannon({
    title: 'content.hr, not a member (403)',
    expected: 403,
    load: async (run) =>
      httpLoad(run, { method: 'GET', path: '/trpc/content.hr', headers: await bearer(run, run.users.plain) }),
  }),
  me: cannon({
    title: 'auth.me',
    load: async (run) =>
      httpLoad(run, { method: 'GET', path: '/trpc/auth.me', headers: await bearer(run, run.users.plain) }),
  }),
  bcrypt: {
    title: 'bare bcrypt.hash (no HTTP)',
    async run(run) {
      // Twice the pool size keeps every thread busy; more in flight would only add queueing.
      const spec: BcryptSpec = {
        cost: run.opts.cost,
        concurrency: 2 * threadpoolSize(),
        durationSeconds: run.opts.durationSeconds,
        warmupSeconds: run.opts.warmupSeconds,
      }
      const child = spawnTs('bench/bcrypt-rate.ts', { stdin: true, role: 'server' })
      const { value, peakRssMb } = await measure(child.pid ?? 0, () => exchange<BcryptResult>(child, spec))
      const rps = hashingRps({ rps: value.countRps, burst: value.burst })
      run.bcryptRps = rps
      return {
        rps,
        p50Ms: value.p50Ms,
        p99Ms: value.p99Ms,
        errors: 0,
        non2xx: null,
        expectedStatus: null,
        statusCounts: {},
        responses: value.hashes,
        durationSeconds: value.durationSeconds,
        peakRssMb,
        note:
          `cost ${run.opts.cost}, ${spec.concurrency} in flight, UV_THREADPOOL_SIZE ${value.threadpoolSize}, in a child process; ` +
          burstNote({
            burst: value.burst,
            responses: value.hashes,
            durationSeconds: value.durationSeconds,
            rps: value.countRps,
          }),
      }
    },
  },
  login: hashing({ title: 'auth.login', load: loginLoad }),
  'login-storm': {
    title: `content.protected (JWT, ${STORM_READERS} conns) during a login storm`,
    async run(run) {
      const load = httpLoad(run, {
        method: 'GET',
        path: '/trpc/content.protected',
        headers: await bearer(run, run.users.plain),
        connections: STORM_READERS,
        timeoutSeconds: BCRYPT_TIMEOUT_SECONDS,
      })
      const durationSeconds = bcryptWindowSeconds(run)
      const { value, peakRssMb } = await measure(run.gatehouse.pids, () =>
        drive({ kind: 'autocannon', load, background: loginLoad(run), durationSeconds, warmupSeconds: 0 }),
      )
      const storm = value.background
      // The readers wait on the same queue as the logins, so their rate is bursty too.
      const summary = summarise(value.load, { expected: 200, bcryptBound: true })
      const stormErrors = storm ? storm.transportErrors + sumStatuses(storm.statusCounts, (s) => s !== 200) : 0
      return {
        ...summary,
        errors: summary.errors + stormErrors,
        peakRssMb,
        note: storm
          ? `${run.opts.hashConnections} connections logging in meanwhile: ${hashingRps(storm).toFixed(1)} logins/s, ` +
            `login p50 ${storm.p50Ms?.toFixed(0) ?? '—'} ms, ${stormErrors} login errors; readers: ${summary.note}`
          : 'no login load ran',
      }
    },
  },
  'refresh-chains': {
    title: 'auth.refresh chains (rotations/s)',
    async run(run) {
      // Each chain needs its own login (its own token family); the logins are not measured.
      const tokens = await pool(
        run.opts.connections,
        threadpoolSize(),
        async () => (await login(run.gatehouse.origin, { username: run.users.plain, password: PASSWORD })).refresh,
      )
      const spec: DriveSpec = {
        kind: 'refresh-chains',
        origin: run.gatehouse.origin,
        tokens,
        durationSeconds: run.opts.durationSeconds,
        warmupSeconds: run.opts.warmupSeconds,
        timeoutSeconds: FAST_TIMEOUT_SECONDS,
      }
      const { value, peakRssMb } = await measure(run.gatehouse.pids, () => drive(spec))
      const summary = summarise(value.load, { expected: 200 })
      return {
        ...summary,
        peakRssMb,
        note:
          `${tokens.length} chains, each presenting the token the previous rotation returned; ` +
          `${value.load.statusCounts[200] ?? 0} rotations measured, ${value.brokenChains ?? 0} chains broke` +
          (summary.errors
            ? ` (${describeStatuses(summary.statusCounts)}, ${value.load.transportErrors} without an answer)`
            : ''),
      }
    },
  },
  'throttled-jwt': {
    title: 'content.protected (JWT), THROTTLE_USER on',
    async run(run) {
      // Every other row runs with the throttles off (one address and one user sending thousands of
      // requests a second is what they refuse). This one shows what the default per-user throttle
      // costs each authenticated request: the same load on a server whose THROTTLE_USER counts in
      // Postgres as by default, with a limit the run cannot reach. The main server is stopped
      // meanwhile (on PGlite only one process can hold the folder) and started again after.
      await run.gatehouse.stop()
      const throttled = await startGatehouse({ ...run.gh, env: { THROTTLE_USER: `${THROTTLE_UNREACHED}/min` } })
      try {
        const result = await SCENARIOS['protected-jwt'].run({ ...run, gatehouse: throttled })
        const jwt = run.jwtRps === null ? '' : `; ${Math.round(run.jwtRps)}/s with it off (the JWT row)`
        const note = `THROTTLE_USER=${THROTTLE_UNREACHED}/min: one counter upsert per round trip of concurrent requests${jwt}`
        return { ...result, note }
      } finally {
        await throttled.stop()
        run.gatehouse = await startGatehouse(run.gh)
      }
    },
  },
  workers: {
    title: 'content.protected (JWT), WORKERS=2',
    async run(run) {
      // The one-process rate again, right before: on a shared machine the load of other work
      // drifts over a run, and the ratio should compare like with like.
      const one = await SCENARIOS['protected-jwt'].run(run)
      // Stopped first: with the embedded database the cluster's primary must hold the data folder,
      // not connect to this server as a client of its socket.
      await run.gatehouse.stop()
      const clustered = await startGatehouse({ ...run.gh, workers: 2 })
      try {
        // Two fresh processes: their JIT and per-process caches start cold, while the one-process
        // server has run every scenario before. A longer warm-up evens that out.
        const warmed = { ...run.opts, warmupSeconds: Math.max(run.opts.warmupSeconds, 3) }
        const result = await SCENARIOS['protected-jwt'].run({ ...run, opts: warmed, gatehouse: clustered })
        const scaling = result.rps !== null && one.rps ? result.rps / one.rps : null
        const earlier = run.jwtRps === null ? '' : `, ${Math.round(run.jwtRps)}/s in its own row earlier`
        return {
          ...result,
          scaling,
          note:
            `WORKERS=2 (primary and worker pids ${clustered.pids.join(', ')}), ready in ${Math.round(clustered.readyMs)} ms; ` +
            `${scaling === null ? 'no WORKERS=1 rate to compare with' : `${scaling.toFixed(2)}×`} the WORKERS=1 rate measured just before ` +
            `(${Math.round(one.rps ?? 0)}/s, p99 ${one.p99Ms?.toFixed(1) ?? '—'} ms${earlier}); ` +
            "peak RSS is the sum of the three processes' peaks",
        }
      } finally {
        await clustered.stop()
      }
    },
  },
  register: hashing({
    title: 'auth.register (new user each)',
    load: (run) =>
      httpLoad(run, {
        method: 'POST',
        path: '/trpc/auth.register',
        headers: { 'content-type': 'application/json' },
        uniqueUsers: { prefix: run.users.registerPrefix, password: PASSWORD },
        connections: run.opts.hashConnections,
        timeoutSeconds: BCRYPT_TIMEOUT_SECONDS,
      }),
  }),
}

/**
 * The bare node:http server runs for the whole run, so that the baseline can be measured again right
 * before each scenario: on a shared virtual machine the capacity drifts by 20–30% within minutes, and
 * a ratio should compare two measurements taken under the same conditions.
 */
async function startBaseline(): Promise<{ origin: string; pid: number }> {
  const child = spawnTs('bench/baseline-server.ts', { role: 'server' })
  const origin = await waitForLine(child, /listening on (http:\/\/[^\s]+)/, 30_000)
  return { origin, pid: child.pid ?? 0 }
}

async function measureBaseline(
  server: { origin: string; pid: number },
  opts: Options,
  window: { durationSeconds: number; warmupSeconds: number },
): Promise<ScenarioResult> {
  const load: HttpLoad = {
    origin: server.origin,
    method: 'GET',
    path: '/',
    connections: opts.connections,
    timeoutSeconds: FAST_TIMEOUT_SECONDS,
  }
  const { value, peakRssMb } = await measure(server.pid, () => drive({ kind: 'autocannon', load, ...window }))
  return {
    id: 'baseline',
    title: 'baseline: bare node:http JSON',
    ...summarise(value.load, { expected: 200 }),
    peakRssMb,
    ratioToBaseline: 1,
  }
}

/**
 * A baseline slot: 3 s after 1 s of warm-up, or 1 s and none with --quick (the quick run must stay
 * under two minutes; the baseline server is warm from the run's first measurement).
 */
function slotWindow(opts: Options) {
  return opts.quick
    ? { durationSeconds: 1, warmupSeconds: 0 }
    : { durationSeconds: Math.min(opts.durationSeconds, 3), warmupSeconds: Math.min(opts.warmupSeconds, 1) }
}

/** Waits until what the last load left queued (bcrypt jobs outlive their driver) has run. */
async function settle(pids: readonly number[]) {
  const quiet = await waitForIdle(pids, { quietMs: 250 })
  if (quiet.waitedMs > 1000 || !quiet.idle) {
    const how = quiet.idle ? 'went idle' : 'was still busy'
    console.log(`  the server ${how} after ${(quiet.waitedMs / 1000).toFixed(1)} s`)
  }
}

/** The loads that wait on bcrypt: they size their window from the bare hash rate, which runs before them. */
const HASHING_IDS: readonly ScenarioId[] = ['login', 'login-storm', 'register']

/**
 * Whether a scenario's ratio uses the baseline measured around it. Not for the bcrypt row (no HTTP)
 * nor the loads that hash, whose ratio is below 0.001× whatever the baseline.
 */
function bracketed(id: ScenarioId): boolean {
  return id !== 'bcrypt' && !HASHING_IDS.includes(id)
}

// ---------------------------------------------------------------------------------------------
// The report

function gitInfo() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() !== ''
    return { commit, dirty }
  } catch {
    return { commit: null, dirty: null }
  }
}

function evaluateTargets(report: Omit<Report, 'targets'>, usesPostgres: boolean): Target[] {
  const ok = (id: string) => report.scenarios.find((s) => s.id === id && !s.failed)
  const jwt = ok('protected-jwt')
  const opaque = ok('protected-token')
  const session = ok('protected-session')
  const refresh = ok('refresh-chains')
  const storm = ok('login-storm')
  const workers = ok('workers')
  const notRun = { measured: '—', met: null, note: 'not run' }
  const ms = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${n.toFixed(n < 10 ? 2 : 0)} ms`)
  const postgresNote = 'measured on the embedded PGlite; the target is for Postgres (set DATABASE_URL)'
  const conns = report.settings.connections
  return [
    jwt?.ratioToBaseline != null
      ? {
          target: 'JWT-protected query ≥ 0.5× baseline',
          measured: `${jwt.ratioToBaseline.toFixed(2)}×`,
          met: jwt.ratioToBaseline >= 0.5,
        }
      : { target: 'JWT-protected query ≥ 0.5× baseline', ...notRun },
    jwt?.p99Ms != null
      ? {
          target: 'JWT-protected p99 ≤ 10 ms at 50 connections',
          measured: ms(jwt.p99Ms),
          met: conns === 50 ? jwt.p99Ms <= 10 : null,
          ...(conns === 50 ? {} : { note: `run at ${conns} connections` }),
        }
      : { target: 'JWT-protected p99 ≤ 10 ms at 50 connections', ...notRun },
    opaque?.ratioToBaseline != null
      ? {
          target: 'opaque-token-protected query ≥ 0.35× baseline',
          measured: `${opaque.ratioToBaseline.toFixed(2)}×`,
          met: opaque.ratioToBaseline >= 0.35,
        }
      : { target: 'opaque-token-protected query ≥ 0.35× baseline', ...notRun },
    session?.ratioToBaseline != null
      ? {
          target: 'session-protected query ≥ 0.35× baseline',
          measured: `${session.ratioToBaseline.toFixed(2)}×`,
          met: session.ratioToBaseline >= 0.35,
        }
      : { target: 'session-protected query ≥ 0.35× baseline', ...notRun },
    refresh?.rps != null
      ? {
          target: 'refresh chains ≥ 2,500 rotations/s on Postgres',
          measured: `${Math.round(refresh.rps)}/s`,
          met: usesPostgres ? refresh.rps >= 2500 : null,
          ...(usesPostgres ? {} : { note: postgresNote }),
        }
      : { target: 'refresh chains ≥ 2,500 rotations/s on Postgres', ...notRun },
    report.loginToBcrypt !== null
      ? {
          target: 'login ≥ 0.9× bare bcrypt hash rate',
          measured: `${report.loginToBcrypt.toFixed(2)}×`,
          met: report.loginToBcrypt >= 0.9,
        }
      : { target: 'login ≥ 0.9× bare bcrypt hash rate', ...notRun },
    storm?.p99Ms != null
      ? {
          target: 'protected p99 ≤ 50 ms during a login storm',
          measured: ms(storm.p99Ms),
          met: storm.p99Ms <= 50,
          note: `${STORM_READERS} readers while ${report.settings.hashConnections} connections log in`,
        }
      : { target: 'protected p99 ≤ 50 ms during a login storm', ...notRun },
    jwt?.peakRssMb != null
      ? {
          target: 'peak RSS ≤ 150 MB under the JWT scenario',
          measured: `${jwt.peakRssMb} MB`,
          met: jwt.peakRssMb <= 150,
        }
      : { target: 'peak RSS ≤ 150 MB under the JWT scenario', ...notRun },
    report.ready.restartMs !== null
      ? {
          target: 'ready to serve ≤ 1 s after start on Postgres',
          measured: `${Math.round(report.ready.restartMs)} ms (restart)`,
          met: usesPostgres ? report.ready.restartMs <= 1000 : null,
          ...(usesPostgres ? {} : { note: postgresNote }),
        }
      : { target: 'ready to serve ≤ 1 s after start on Postgres', ...notRun },
    workers?.scaling != null
      ? {
          target: '1 → 2 workers ≥ 1.6× on the JWT scenario',
          measured: `${workers.scaling.toFixed(2)}×`,
          met: workers.scaling >= 1.6,
          note: `${Math.round(workers.rps ?? 0)} rps on WORKERS=2; the load driver runs on the same machine`,
        }
      : { target: '1 → 2 workers ≥ 1.6× on the JWT scenario', ...notRun },
  ]
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

let tmpDir: string | null = null
let firstSignalAt = 0

function removeTmpDir() {
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true })
  tmpDir = null
}

function onSignal(signal: NodeJS.Signals) {
  // A terminal's Ctrl-C reaches us twice (directly and relayed by tsx's CLI): only a second press
  // a moment later means "now".
  if (firstSignalAt && performance.now() - firstSignalAt > 1000) {
    killAllNow()
    process.exit(130)
  }
  if (firstSignalAt) return
  firstSignalAt = performance.now()
  refuseNewChildren()
  console.error(`\nbench: ${signal}: stopping the server and drivers (press Ctrl-C again to kill them)`)
  void stopAll().finally(() => {
    removeTmpDir()
    process.exit(130)
  })
}

async function main(): Promise<number> {
  let opts: Options | null
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n\n${HELP}`)
    return 2
  }
  if (!opts) {
    console.log(HELP)
    return 0
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('exit', killAllNow)

  const started = performance.now()
  const loadAverageStart = loadavg()
  const usesPostgres = Boolean(process.env.DATABASE_URL)
  tmpDir = usesPostgres ? null : mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
  const gh: GatehouseOptions = { cost: opts.cost, dataDir: join(tmpDir ?? tmpdir(), 'data') }
  const runTag = `b${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  const needsBcrypt = !opts.only || HASHING_IDS.some((id) => opts.only?.has(id))
  const wanted = SCENARIO_IDS.filter(
    (id) => (!opts.only || opts.only.has(id) || (id === 'bcrypt' && needsBcrypt)) && !(opts.pin && id === 'workers'),
  )
  if (opts.pin) pinProcesses(opts.pin)
  const scenarios: ScenarioResult[] = []
  let exitCode = 0
  const ready: Report['ready'] = {
    firstStartMs: null,
    firstListeningMs: null,
    restartMs: null,
    restartListeningMs: null,
    idleRssMb: null,
  }

  console.log(
    `bench: ${opts.quick ? 'quick' : 'full'} run${opts.pin ? ` (pinned: server on CPU ${opts.pin.server}, driver on CPU ${opts.pin.driver})` : ''}, ${opts.connections} connections (${opts.hashConnections} for loads that hash), ` +
      `${opts.durationSeconds} s per scenario ` +
      `(+${opts.warmupSeconds} s warm-up), bcrypt cost ${opts.cost}, database: ${usesPostgres ? 'Postgres (DATABASE_URL)' : `embedded PGlite in ${gh.dataDir}`}`,
  )

  try {
    console.log('› baseline: bare node:http JSON')
    const baselineServer = await startBaseline()
    const baseline = await measureBaseline(baselineServer, opts, opts)
    scenarios.push(baseline)
    console.log(`  ${Math.round(baseline.rps ?? 0)} rps, p99 ${baseline.p99Ms?.toFixed(2) ?? '—'} ms`)

    console.log('› starting the Gatehouse server')
    let gatehouse = await startGatehouse(gh)
    ready.firstStartMs = gatehouse.readyMs
    ready.firstListeningMs = gatehouse.listeningMs
    ready.idleRssMb = watchMemory(gatehouse.pid).stop()
    console.log(
      `  ${gatehouse.origin} ready in ${Math.round(gatehouse.readyMs)} ms (pid ${gatehouse.pid}), RSS ${ready.idleRssMb ?? '—'} MB`,
    )

    console.log('› seeding users (HTTP register, CLI addtogroup)')
    const users = { plain: `${runTag}_plain`, hr: `${runTag}_hr`, registerPrefix: `${runTag}_r` }
    await mutate(gatehouse.origin, 'auth.register', { username: users.plain, password: PASSWORD })
    await mutate(gatehouse.origin, 'auth.register', { username: users.hr, password: PASSWORD })
    console.log(`  ${await cli(['addtogroup', users.hr, 'HR'], gh)}`)

    const run: Run = { opts, gh, gatehouse, jwtRps: null, baselineRps: baseline.rps, bcryptRps: null, users }
    // The latest baseline slot, while nothing else has run since: the next scenario's "before".
    let lastSlot: number | null = baseline.rps
    for (const id of wanted) {
      if (firstSignalAt) return 130
      const def = SCENARIOS[id]
      console.log(`› ${def.title}`)
      try {
        await settle(run.gatehouse.pids)
        // Bracketed: the baseline right before (the previous scenario's "after" when nothing ran
        // since) and right after; the ratio divides by their mean.
        const adjacent = bracketed(id)
        const before = adjacent
          ? (lastSlot ?? (await measureBaseline(baselineServer, opts, slotWindow(opts))).rps)
          : null
        lastSlot = null
        const result = await def.run(run)
        let baselineRps = run.baselineRps
        let note = result.note
        if (adjacent) {
          await settle(run.gatehouse.pids)
          const after = (await measureBaseline(baselineServer, opts, slotWindow(opts))).rps
          lastSlot = after
          baselineRps = before !== null && after !== null ? (before + after) / 2 : (before ?? after)
          const bracket = `baseline ${Math.round(before ?? 0)} rps right before, ${Math.round(after ?? 0)} right after`
          note = note ? `${note}; ${bracket}` : bracket
          console.log(`  ${bracket}`)
        }
        // The bcrypt row has no HTTP, and the storm row's readers run at fewer connections.
        const comparable = id !== 'bcrypt' && id !== 'login-storm'
        const ratioToBaseline = comparable && result.rps !== null && baselineRps ? result.rps / baselineRps : null
        scenarios.push({ id, title: def.title, ...result, ...(note ? { note } : {}), ratioToBaseline, baselineRps })
        if (id === 'protected-jwt') run.jwtRps = result.rps
        console.log(
          `  ${result.rps === null ? '—' : result.rps.toFixed(result.rps < 100 ? 1 : 0)} /s, p50 ${result.p50Ms?.toFixed(2) ?? '—'} ms, ` +
            `p99 ${result.p99Ms?.toFixed(2) ?? '—'} ms, errors ${result.errors ?? '—'}, peak RSS ${result.peakRssMb ?? '—'} MB`,
        )
      } catch (err) {
        exitCode = 1
        const message = err instanceof Error ? err.message : String(err)
        scenarios.push({ ...emptyResult(id, def.title), failed: message })
        console.error(`  failed: ${message}`)
        // The workers scenario runs last, on a server of its own.
        if (id !== 'workers' && !run.gatehouse.alive())
          throw new Error(`the server exited during ${id}:\n${run.gatehouse.output.toString()}`)
      }
    }

    console.log('› restarting the server on the same database (ready time)')
    await run.gatehouse.stop()
    gatehouse = await startGatehouse(gh)
    ready.restartMs = gatehouse.readyMs
    ready.restartListeningMs = gatehouse.listeningMs
    console.log(`  ready in ${Math.round(gatehouse.readyMs)} ms`)
    await gatehouse.stop()
  } catch (err) {
    exitCode = 1
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`)
  } finally {
    await stopAll()
    removeTmpDir()
  }
  // An interrupted run reports nothing: its numbers would be a mix of whole and cut scenarios.
  if (firstSignalAt) return 130

  const login = scenarios.find((s) => s.id === 'login' && !s.failed)
  const bcrypt = scenarios.find((s) => s.id === 'bcrypt' && !s.failed)
  const partial: Omit<Report, 'targets'> = {
    generatedAt: new Date().toISOString(),
    wallSeconds: (performance.now() - started) / 1000,
    mode: opts.quick ? 'quick' : 'full',
    settings: {
      connections: opts.connections,
      hashConnections: opts.hashConnections,
      durationSeconds: opts.durationSeconds,
      warmupSeconds: opts.warmupSeconds,
      bcryptCost: opts.cost,
      threadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
      // Never the URL itself: it can hold a password.
      database: usesPostgres ? 'Postgres (DATABASE_URL)' : 'embedded PGlite, fresh temporary DATA_DIR',
      throttles: 'off (THROTTLE_ANON, THROTTLE_USER, THROTTLE_LOGIN_FAILURES)',
      server: `node apps/server/dist/main.js (built by apps/server/scripts/build.mjs), NODE_ENV=production, one process (WORKERS=1; the workers row: 2), HTTP_ADAPTER=${process.env.HTTP_ADAPTER ?? 'lean (default)'}`,
      placement: opts.pin
        ? `--pin: the server, the baseline and the bcrypt child on CPU ${opts.pin.server}, the load driver on CPU ${opts.pin.driver}, Postgres unpinned; no workers row`
        : 'none: the server, the load driver and Postgres share every CPU',
    },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      loadAverageStart,
      loadAverageEnd: loadavg(),
    },
    git: gitInfo(),
    ready,
    scenarios,
    loginToBcrypt: login?.rps && bcrypt?.rps ? login.rps / bcrypt.rps : null,
  }
  const report: Report = { ...partial, targets: evaluateTargets(partial, usesPostgres) }
  const written = writeReport(report)
  console.log(`\n${renderMarkdown(report)}`)
  console.log(`bench: wrote ${written.json} and ${written.md}`)
  return exitCode
}

function emptyResult(id: string, title: string): ScenarioResult {
  return {
    id,
    title,
    rps: null,
    p50Ms: null,
    p99Ms: null,
    errors: null,
    non2xx: null,
    expectedStatus: null,
    statusCounts: {},
    responses: null,
    durationSeconds: null,
    peakRssMb: null,
    ratioToBaseline: null,
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    killAllNow()
    removeTmpDir()
    process.exit(1)
  },
)
