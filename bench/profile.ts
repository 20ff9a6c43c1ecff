/**
 * `pnpm bench:profile [--duration S] [--connections N] [--out FILE]`: where a request's time goes.
 * Starts the server as the bench does, but under `node --cpu-prof`; drives the public tRPC query
 * and the JWT-protected query (and the opaque-token one) for a few seconds each with autocannon in
 * this process; stops the server so V8 writes its profile; prints self time per place (package)
 * and per function, as markdown (bench/results/profile.md). One server per scenario, so each
 * profile holds one kind of request.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import autocannon from 'autocannon'

import { call, login, mutate, startGatehouse } from './lib/gatehouse.js'
import { profileMarkdown, summarizeProfile } from './lib/profile.js'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    out: { type: 'string', default: 'bench/results/profile.md' },
  },
})
const duration = Number(values.duration)
const connections = Number(values.connections)
if (!(duration > 0) || !(connections > 0)) {
  console.error('bench:profile: --duration and --connections take positive numbers')
  process.exit(2)
}

interface Scenario {
  id: string
  title: string
  headers: (origin: string) => Promise<Record<string, string>>
  path: string
}

const USER = { username: 'profiled', password: 'Profile-passphrase-1' }

async function user(origin: string) {
  await call(origin, { method: 'POST', path: '/trpc/auth.register', body: USER })
  return login(origin, USER)
}

const SCENARIOS: Scenario[] = [
  { id: 'trpc-public', title: 'auth.catalogue (tRPC, no auth, no DB)', path: '/trpc/auth.catalogue', headers: () => Promise.resolve({}) },
  {
    id: 'protected-jwt',
    title: 'content.protected (JWT)',
    path: '/trpc/content.protected',
    headers: async (origin) => ({ authorization: `Bearer ${(await user(origin)).access}` }),
  },
  {
    id: 'protected-token',
    title: 'content.protected (opaque API token)',
    path: '/trpc/content.protected',
    headers: async (origin) => {
      await user(origin)
      const { token } = await mutate<{ token: string }>(origin, 'auth.tokens.obtain', USER)
      return { authorization: `Token ${token}` }
    },
  },
]

const sections: string[] = [
  '### CPU profiles',
  '',
  `\`pnpm bench:profile\`: ${connections} connections, ${duration} s per scenario, one server each (${
    process.env['DATABASE_URL'] ? 'Postgres' : 'embedded PGlite'
  }), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  '',
]
for (const scenario of SCENARIOS) {
  const dir = await mkdtemp(join(tmpdir(), `gatehouse-prof-${scenario.id}-`))
  let window: { fromUs: number; toUs: number } | undefined
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-prof-data-'))
  const server = await startGatehouse({ cost: 4, dataDir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
  try {
    const headers = await scenario.headers(server.origin)
    // Warm up (JIT, caches), then profile only the measured seconds: start-up stays out.
    await autocannon({ url: `${server.origin}${scenario.path}`, connections, duration: 1, headers })
    const fromUs = Number(process.hrtime.bigint() / 1000n)
    const result = await autocannon({ url: `${server.origin}${scenario.path}`, connections, duration, headers })
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) }
    console.log(`${scenario.id}: ${Math.round(result.requests.average)} rps, non-2xx ${result.non2xx}`)
  } finally {
    await server.stop()
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'))
  // tsx's loader runs a worker thread with a profile of its own; the server's is the busiest.
  const summaries = await Promise.all(files.map((f) => summarizeProfile(join(dir, f), { window })))
  const busiest = summaries.sort((a, b) => b.totalMs - b.idleMs - (a.totalMs - a.idleMs))[0]
  if (busiest) sections.push(profileMarkdown(scenario.title, busiest))
  await rm(dir, { recursive: true, force: true })
  await rm(dataDir, { recursive: true, force: true })
}
const markdown = sections.join('\n')
await writeFile(values.out, markdown)
console.log(markdown)
