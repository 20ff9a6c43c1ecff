/**
 * The bundle `pnpm start` runs (dist/main.js from scripts/build.mjs), under plain Node with the
 * node flags of the start script. The rest of the suite runs the TypeScript sources; this file
 * covers what only the bundle can get wrong: a file read next to the code (the common-password
 * list), the package version read by name, dependencies resolved from dist/ (swagger-ui-dist, and
 * oidc-provider imported at the first OAuth request), workers forked from the bundle itself, and a
 * node flag this Node rejects.
 */
import { readFileSync } from 'node:fs'

import { TEST_BACKEND } from '@gatehouse/db/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { getFresh, login, mutation, query, wire } from './helpers/http.js'
import type { ProcessStore } from './helpers/process.js'
import { buildServer, createProcessStore, startServerProcess } from './helpers/process.js'

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version

describe(`${TEST_BACKEND}: the built server (dist/main.js)`, () => {
  let store: ProcessStore
  beforeAll(async () => {
    await buildServer()
    store = await createProcessStore('gh_built')
  }, 60_000)
  afterAll(() => store?.dispose())

  it('serves the contract: validators, register, login, a protected query, the docs and OpenAPI', async () => {
    await using server = await startServerProcess(store.env, { built: true })
    const weak = await mutation(server.url, 'auth.register', { username: 'dana', password: '1234567' })
    expect(weak.status).toBe(400)
    expect(weak.body.error.data.fieldErrors).toEqual({
      password: [
        'This password is too short. It must contain at least 8 characters.',
        'This password is too common.',
        'This password is entirely numeric.',
      ],
    })
    const user = { username: 'dana', password: 'Tr1cky-passphrase' }
    expect((await mutation(server.url, 'auth.register', user)).status).toBe(200)
    const { access } = await login(server.url, user)
    const res = await query(server.url, 'content.protected', { token: access })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ result: { data: { message: 'This is a protected view' } } })

    const openapi = await wire(`${server.url}/api/openapi.json`)
    expect(openapi.status).toBe(200)
    expect(openapi.body.info.version).toBe(VERSION)
    const docs = await wire(`${server.url}/api/docs`)
    expect(docs.status).toBe(200)
    const css = /href="(\/api\/docs\/assets\/swagger-ui\.css[^"]*)"/.exec(String(docs.body))?.[1]
    expect(css).toBeDefined()
    const asset = await wire(`${server.url}${css}`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('content-type')).toBe('text/css; charset=utf-8')
    // oidc-provider is imported at the first OAuth request, from dist/ as from the sources
    const discovery = await wire(`${server.url}/oauth/.well-known/openid-configuration`)
    expect(discovery.status).toBe(200)
    expect(discovery.body.issuer).toBe(`${server.url}/oauth`)
    expect(await server.stop()).toBe(0)
  })

  it('forks its workers from the bundle: WORKERS=2 answers from two processes', async () => {
    await using server = await startServerProcess({ ...store.env, WORKERS: '2' }, { built: true })
    const seen = new Set<string | undefined>()
    // a fresh connection each time: the kernel spreads new connections, a kept-alive one stays put
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const res = await getFresh(`${server.url}/trpc/auth.catalogue`)
      expect(res.status).toBe(200)
      seen.add(res.worker)
    }
    expect(seen.size).toBe(2)
    expect(seen.has(undefined)).toBe(false)
    expect(await server.stop()).toBe(0)
  })
})
