/**
 * Authorization code + PKCE in a real browser: a single-page app on its own origin runs the SDK's
 * createPkceFlow (packages/sdk/src/pkce.ts, served as it is, transpiled only), the user signs in
 * and consents on the server's pages, the app exchanges the code (a CORS request to the token
 * endpoint), and the token calls a scoped procedure. Then the deny path, and a second
 * authorisation that skips consent. Debian's Chromium through playwright-core; skipped, saying
 * why, on a machine without it (CI installs it).
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

import { TEST_BACKEND } from '@gatehouse/db/testing'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { login, query } from './helpers/http.js'
import { registerClient } from './helpers/oauth.js'
import { sharedServer } from './helpers/server.js'

const CHROMIUM = '/usr/bin/chromium'
const SDK_SRC = fileURLToPath(new URL('../../../packages/sdk/src/', import.meta.url))
const skipReason = `(skipped: ${CHROMIUM} not installed; apt-get install chromium)`

/** An SDK module as a browser gets it: the TypeScript source with its types stripped. */
async function sdkModule(path: string): Promise<string> {
  const source = await readFile(`${SDK_SRC}${path.replace(/\.js$/, '.ts')}`, 'utf8')
  return ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Notes SPA</title><script type="module" src="/app.js"></script></head>
<body><button id="connect">Connect to Gatehouse</button><pre id="result"></pre><pre id="error"></pre></body></html>`

/** The single-page app: its page, its script, and the SDK modules it imports. */
function startApp(config: () => Record<string, string>): Promise<Server> {
  const app = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://app')
    const send = (type: string, body: string) => {
      res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' })
      res.end(body)
    }
    if (pathname === '/' || pathname === '/callback') return send('text/html', PAGE)
    if (pathname === '/app.js') {
      return send(
        'text/javascript',
        `import { createPkceFlow } from '/sdk/pkce.js'
const flow = createPkceFlow(${JSON.stringify(config())})
document.getElementById('connect').addEventListener('click', async () => location.assign(await flow.authorizeUrl()))
if (location.pathname === '/callback') {
  flow.handleRedirect(location.href).then(
    (tokens) => { document.getElementById('result').textContent = JSON.stringify(tokens) },
    (error) => { document.getElementById('error').textContent = error.error ?? String(error) },
  )
}`,
      )
    }
    if (pathname === '/sdk/pkce.js' || pathname === '/sdk/internal/oauth.js') {
      sdkModule(pathname.slice('/sdk/'.length)).then(
        (code) => send('text/javascript', code),
        () => res.writeHead(500).end(),
      )
      return
    }
    res.writeHead(404).end()
  })
  return new Promise((resolve) => app.listen(0, '127.0.0.1', () => resolve(app)))
}

describe.skipIf(!existsSync(CHROMIUM))(
  `${TEST_BACKEND}: authorization code + PKCE in headless Chromium ${existsSync(CHROMIUM) ? '' : skipReason}`.trim(),
  () => {
    const server = sharedServer()
    let app: Server
    let appUrl: string
    let clientId: string
    let browser: Browser
    let alice: { username: string; password: string }

    beforeAll(async () => {
      app = await startApp(() => ({
        url: server.url,
        clientId,
        redirectUri: `${appUrl}/callback`,
        scopes: 'openid read',
      }))
      appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
      const created = await registerClient(
        server.db,
        {
          name: 'Notes SPA',
          grants: ['authorization_code', 'refresh_token'],
          redirectUris: [`${appUrl}/callback`],
          scopes: 'openid read write',
          public: true,
        },
        server.config.oauthGrants,
      )
      clientId = created.clientId
      alice = await server.createUser({ username: 'alice' })
      browser = await chromium.launch({ executablePath: CHROMIUM })
    })
    afterAll(async () => {
      await browser?.close()
      await new Promise((resolve) => app?.close(resolve))
    })

    /** A page whose every navigation request (redirects included) is recorded, with page errors collected. */
    async function openApp(context: BrowserContext) {
      const page = await context.newPage()
      page.setDefaultTimeout(10_000)
      const visited: string[] = []
      const errors: string[] = []
      page.on('request', (request) => {
        if (request.isNavigationRequest() && request.frame() === page.mainFrame()) visited.push(request.url())
      })
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(appUrl)
      return { page, visited, errors }
    }

    async function signIn(page: Page, user: { username: string; password: string }) {
      await page.locator('#username').fill(user.username)
      await page.locator('#password').fill(user.password)
      await page.locator('#login').click()
    }

    let context: BrowserContext

    it('signs in, consents, comes back with a code, exchanges it and calls a scoped procedure', async () => {
      context = await browser.newContext()
      const { page, visited, errors } = await openApp(context)
      await page.locator('#connect').click()
      await page.waitForURL(`${server.url}/oauth/interaction/**`)
      await signIn(page, alice)
      // the consent page names the app and what it asks for
      await page.locator('#allow').waitFor()
      expect(await page.locator('#client').textContent()).toBe('Notes SPA')
      expect(
        await page.locator('#scopes li').evaluateAll((items) => items.map((li) => li.getAttribute('data-scope'))),
      ).toEqual(['openid', 'read'])
      await page.locator('#allow').click()
      await page.waitForURL(`${appUrl}/callback?**`)
      const callback = new URL(page.url())
      expect([...callback.searchParams.keys()].sort()).toEqual(['code', 'iss', 'state'])
      await page.locator('#result:not(:empty)').waitFor()
      const tokens = JSON.parse((await page.locator('#result').textContent()) ?? '{}') as {
        accessToken: string
        scope: string
      }
      expect(tokens.scope).toBe('read')
      expect(errors).toEqual([])
      // the verifier was spent: nothing of the attempt is left in the tab
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0)
      expect(visited.some((url) => url.includes('code_challenge_method=S256'))).toBe(true)

      const scoped = await query(server.url, 'content.scoped', { token: tokens.accessToken })
      expect(scoped.status).toBe(200)
      expect(scoped.body.result.data).toEqual({
        message: 'This is a scoped view',
        username: 'alice',
        oauth: { clientId, scopes: ['read'] },
      })
      // the user now sees the app among those they authorised
      const { access } = await login(server.url, alice)
      const apps = await query(server.url, 'auth.apps.list', { token: access })
      expect(apps.body.result.data.items).toEqual([
        { clientId, name: 'Notes SPA', scopes: ['openid', 'read'], grantedAt: expect.any(String) },
      ])
      await page.close()
    })

    it('a second authorisation in the same browser asks nothing: no sign-in, no consent', async () => {
      const { page, visited } = await openApp(context)
      await page.locator('#connect').click()
      await page.waitForURL(`${appUrl}/callback?**`)
      await page.locator('#result:not(:empty)').waitFor()
      expect(visited.filter((url) => url.includes('/oauth/interaction/'))).toEqual([])
      const tokens = JSON.parse((await page.locator('#result').textContent()) ?? '{}') as { accessToken: string }
      expect((await query(server.url, 'content.scoped', { token: tokens.accessToken })).status).toBe(200)
      await context.close()
    })

    it('deny sends the user back to the app with access_denied, and no token', async () => {
      const bob = await server.createUser({ username: 'bob' })
      const fresh = await browser.newContext()
      const { page } = await openApp(fresh)
      await page.locator('#connect').click()
      await page.waitForURL(`${server.url}/oauth/interaction/**`)
      await signIn(page, bob)
      await page.locator('#deny').click()
      await page.waitForURL(`${appUrl}/callback?**`)
      expect(new URL(page.url()).searchParams.get('error')).toBe('access_denied')
      await page.locator('#error:not(:empty)').waitFor()
      expect(await page.locator('#error').textContent()).toBe('access_denied')
      expect(await page.locator('#result').textContent()).toBe('')
      await fresh.close()
    })
  },
)
