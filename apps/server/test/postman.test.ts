/**
 * `gatehouse postman` writes a collection and an environment generated from the OpenAPI document;
 * newman runs the collection, as CI and a user would, against a live server: the tutorial's flows
 * must pass every assertion, and every other request must answer a status the document lists.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { NewmanRunSummary } from 'newman'
import newman from 'newman'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { TEST_BACKEND } from '@gatehouse/db/testing'
import { BUILTIN_AUTH_SCHEMES } from '../src/config.js'
import { buildOpenApiDocument } from '../src/rest/openapi.js'
import { buildPostman, COLLECTION_FILE, ENVIRONMENT_FILE } from '../src/rest/postman.js'
import { runCli } from './helpers/process.js'
import { sharedServer } from './helpers/server.js'

let dir: string
let collection: any
let environment: any
const server = sharedServer()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gh-postman-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

function run(options: { environment: unknown; iterationCount?: number }): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) => {
    newman.run({ collection, reporters: [], ...options } as newman.NewmanRunOptions, (err, summary) =>
      err ? reject(err) : resolve(summary),
    )
  })
}

function withBaseUrl(url: string) {
  return {
    ...environment,
    values: environment.values.map((v: { key: string }) => (v.key === 'base_url' ? { ...v, value: url } : v)),
  }
}

const OPERATIONS = Object.values(buildOpenApiDocument({ authSchemes: BUILTIN_AUTH_SCHEMES }).paths as object).reduce(
  (n: number, item: object) => n + Object.keys(item).length,
  0,
)
const TUTORIAL_STEPS = 8
const TOKEN_STEPS = 4

describe(`${TEST_BACKEND}: gatehouse postman`, () => {
  it('writes the collection (v2.1) and the environment into --out', async () => {
    const res = await runCli(['postman', '--out', dir, '--base-url', 'http://127.0.0.1:8000'], {})
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout.trim()).toBe(`Wrote ${join(dir, COLLECTION_FILE)} and ${join(dir, ENVIRONMENT_FILE)}.`)
    collection = JSON.parse(await readFile(join(dir, COLLECTION_FILE), 'utf8'))
    environment = JSON.parse(await readFile(join(dir, ENVIRONMENT_FILE), 'utf8'))
    expect(collection.info.schema).toBe('https://schema.getpostman.com/json/collection/v2.1.0/collection.json')
    expect(environment.values).toEqual([
      { key: 'base_url', value: 'http://127.0.0.1:8000', type: 'default', enabled: true },
      { key: 'access', value: '', type: 'secret', enabled: true },
      { key: 'refresh', value: '', type: 'secret', enabled: true },
      { key: 'token', value: '', type: 'secret', enabled: true },
    ])
    // It is the generator's output, nothing else.
    const doc = buildOpenApiDocument({ authSchemes: BUILTIN_AUTH_SCHEMES })
    expect(collection).toEqual(buildPostman(doc, { baseUrl: 'http://127.0.0.1:8000' }).collection)
  })

  it('has the tutorial flow in order, with the requests the OpenAPI document describes', () => {
    const [tutorial, token, reference] = collection.item
    expect(collection.item.map((f: { name: string }) => f.name)).toEqual([
      'Tutorial flow',
      'Token auth flow',
      'Reference',
    ])
    const line = (i: any) =>
      `${i.request.method} ${i.request.url.raw} ${i.request.header.find((h: any) => h.key === 'Authorization')?.value ?? '-'}`
    expect(tutorial.item.map(line)).toEqual([
      'POST {{base_url}}/api/register/ -',
      'POST {{base_url}}/api/login/ -',
      'GET {{base_url}}/api/protected/ Bearer {{access}}',
      'GET {{base_url}}/api/admin-content/ Bearer {{access}}',
      'POST {{base_url}}/api/token/refresh/ -',
      'GET {{base_url}}/api/protected/ Bearer {{access}}',
      'POST {{base_url}}/api/logout/ -',
      'POST {{base_url}}/api/token/refresh/ -',
    ])
    expect(token.item.map(line)).toEqual([
      'POST {{base_url}}/api/token-auth/register/ -',
      'POST {{base_url}}/api/token-auth/login/ -',
      'GET {{base_url}}/api/token-auth/protected/ Token {{token}}',
      'GET {{base_url}}/api/token-auth/protected/ -',
    ])
    expect(JSON.parse(tutorial.item[0].request.body.raw)).toEqual({
      username: '{{username}}',
      password: '{{password}}',
      email: '{{username}}@example.com',
    })
    expect(JSON.parse(tutorial.item[4].request.body.raw)).toEqual({ refresh: '{{refresh}}' })
    const all = reference.item.flatMap((group: { item: unknown[] }) => group.item)
    expect(all).toHaveLength(OPERATIONS)
    expect(all.map((i: any) => i.name)).toContain('DELETE /api/tokens/{id}/')
    const del = all.find((i: any) => i.name === 'DELETE /api/tokens/{id}/')
    expect(del.request.url).toMatchObject({
      raw: '{{base_url}}/api/tokens/:id/',
      variable: [{ key: 'id', value: '1' }],
    })
  })

  it('newman runs the whole collection against a live server with no failure, twice on the same database', async () => {
    for (let i = 0; i < 2; i++) {
      const summary = await run({ environment: withBaseUrl(server.url) })
      expect(summary.run.failures.map((f) => `${f.source?.name ?? ''}: ${f.error.message}`)).toEqual([])
      const stats = summary.run.stats
      expect(stats.requests).toMatchObject({ total: TUTORIAL_STEPS + TOKEN_STEPS + OPERATIONS, failed: 0 })
      // A status check per request, then the tutorial's 9 checks (bodies, the pair, a WWW-Authenticate)
      // and the token flow's 5.
      expect(stats.assertions).toMatchObject({ total: TUTORIAL_STEPS + 9 + TOKEN_STEPS + 5 + OPERATIONS, failed: 0 })
      const codes = summary.run.executions
        .slice(0, TUTORIAL_STEPS + TOKEN_STEPS)
        .map((e) => (e.response as unknown as { code: number }).code)
      expect(codes).toEqual([201, 200, 200, 403, 200, 200, 200, 401, 201, 200, 200, 401])
      // The flows kept the tokens where the environment says.
      const kept = (key: string) => summary.environment.get(key) as string
      expect(kept('access')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
      expect(kept('refresh')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
      expect(kept('token')).toMatch(/\S{20}/)
    }
  }, 30_000)

  it('a failing assertion is reported: the flow against the wrong server fails', async () => {
    const summary = await run({ environment: withBaseUrl(`${server.url}/nope`) })
    expect(summary.run.stats.assertions.failed).toBeGreaterThan(0)
  }, 30_000)
})
