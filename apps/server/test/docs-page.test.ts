/**
 * GET /api/docs: Swagger UI over /api/openapi.json, served by the server itself. The wire checks
 * (content types, caching, CSP, no way out of the asset list) run everywhere; the browser checks
 * drive Debian's Chromium with playwright-core, and are skipped, saying why, on a machine without it
 * (CI installs it, so they always run there).
 */
import { existsSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { gunzipSync } from 'node:zlib'

import type { Browser, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { DOCS_CSP } from '../src/http/docs.js'
import { sharedServer } from './helpers/server.js'

const CHROMIUM = '/usr/bin/chromium'

const server = sharedServer()

/** A request exactly as written: fetch would resolve `..` and `%2e%2e` before sending. */
function raw(path: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(server.url)
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
    (resolve, reject) => {
      const req = httpRequest({ host: hostname, port, path, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      })
      req.on('error', reject)
      req.end()
    },
  )
}

/** The page's asset URLs, `?v=` included, in document order. */
async function assetUrls() {
  const html = (await raw('/api/docs')).body.toString()
  return [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!)
}

describe('GET /api/docs on the wire', () => {
  it('is an HTML page with a CSP that allows only this server, and the same at /api/docs/', async () => {
    const res = await raw('/api/docs')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.headers['cache-control']).toBe('no-cache')
    expect(res.headers['content-security-policy']).toBe(DOCS_CSP)
    expect(DOCS_CSP).toContain("script-src 'self';")
    expect(DOCS_CSP).toContain("default-src 'none'")
    expect(DOCS_CSP).not.toMatch(/unsafe-eval|https?:/)
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['x-frame-options']).toBe('DENY')
    const html = res.body.toString()
    expect(html).toContain('<title>Gatehouse API reference</title>')
    // Nothing from another origin: every asset is under the fixed prefix.
    expect(await assetUrls()).toEqual([
      expect.stringMatching(/^\/api\/docs\/assets\/swagger-ui\.css\?v=[0-9a-f]{16}$/),
      expect.stringMatching(/^\/api\/docs\/assets\/favicon-32x32\.png\?v=[0-9a-f]{16}$/),
      expect.stringMatching(/^\/api\/docs\/assets\/favicon-16x16\.png\?v=[0-9a-f]{16}$/),
      expect.stringMatching(/^\/api\/docs\/assets\/swagger-ui-bundle\.js\?v=[0-9a-f]{16}$/),
      expect.stringMatching(/^\/api\/docs\/assets\/gatehouse-docs\.js\?v=[0-9a-f]{16}$/),
    ])
    const slash = await raw('/api/docs/')
    expect(slash.status).toBe(200)
    expect(slash.body.toString()).toBe(html)
  })

  it('serves each asset with its media type; a pinned URL is immutable, a bare one revalidates by ETag', async () => {
    const types = ['text/css; charset=utf-8', 'image/png', 'image/png', 'text/javascript; charset=utf-8']
    const urls = await assetUrls()
    for (const [i, url] of urls.entries()) {
      const res = await raw(url)
      expect(res.status, url).toBe(200)
      expect(res.headers['content-type'], url).toBe(types[i] ?? 'text/javascript; charset=utf-8')
      expect(res.headers['cache-control'], url).toBe('public, max-age=31536000, immutable')
      expect(res.headers['x-content-type-options'], url).toBe('nosniff')
      expect(res.headers['content-encoding'], url).toBeUndefined()
    }
    const bundle = urls[3]!
    const bare = await raw(bundle.split('?')[0]!)
    expect(bare.headers['cache-control']).toBe('no-cache')
    const etag = String(bare.headers.etag)
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/)
    const again = await raw(bundle.split('?')[0]!, { 'if-none-match': etag })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
    // A stale `?v=` is not pinned: it may name another content.
    expect((await raw(`${bundle.split('?')[0]!}?v=0000000000000000`)).headers['cache-control']).toBe('no-cache')
    const gzipped = await raw(bundle, { 'accept-encoding': 'gzip, br' })
    expect(gzipped.headers['content-encoding']).toBe('gzip')
    expect(gzipped.headers.vary).toBe('accept-encoding')
    expect(gunzipSync(gzipped.body).equals(bare.body)).toBe(true)
    expect(gzipped.body.length).toBeLessThan(bare.body.length / 2)
  })

  it('answers 404 to every path outside its file list: no directory traversal, no other package file', async () => {
    const attempts = [
      '/api/docs/assets/../../../package.json',
      '/api/docs/assets/..%2f..%2f..%2fpackage.json',
      '/api/docs/assets/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/api/docs/assets/..%5c..%5cpackage.json',
      '/api/docs/assets/%2fetc%2fpasswd',
      '/api/docs/assets//etc/passwd',
      '/api/docs/assets/package.json',
      '/api/docs/assets/index.html',
      '/api/docs/assets/swagger-initializer.js',
      '/api/docs/assets/swagger-ui.css%00.png',
      '/api/docs/assets/',
      '/api/docs/assets/__proto__',
      '/api/docs/assets/SWAGGER-UI.CSS',
    ]
    for (const path of attempts) {
      const res = await raw(path)
      expect(res.status, path).toBe(404)
      expect(JSON.parse(res.body.toString()), path).toEqual({ detail: 'Not found.' })
    }
  })

  it('answers 405 with Allow to other methods, and HEAD with the headers alone', async () => {
    const res = await fetch(`${server.url}/api/docs`, { method: 'POST' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD')
    expect(await res.json()).toEqual({ detail: 'Method "POST" not allowed.' })
    const head = await fetch(`${server.url}/api/docs`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0)
    expect(await head.text()).toBe('')
  })
})

const skipReason = `(skipped: ${CHROMIUM} not installed; apt-get install chromium)`

describe.skipIf(!existsSync(CHROMIUM))(
  `GET /api/docs in headless Chromium ${existsSync(CHROMIUM) ? '' : skipReason}`.trim(),
  () => {
    let browser: Browser
    let page: Page
    const violations: string[] = []
    const offOrigin: string[] = []
    let access = ''

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM })
      page = await browser.newPage()
      // Well under vitest's own limit, so a missing element fails with Playwright's call log.
      page.setDefaultTimeout(10_000)
      // Every CSP refusal, whether or not the browser also logs it.
      await page.addInitScript(() => {
        const seen: string[] = []
        Object.assign(window, { cspViolations: seen })
        document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`))
      })
      page.on('console', (m) => {
        if (m.type() === 'error') violations.push(m.text())
      })
      page.on('pageerror', (e) => violations.push(e.message))
      page.on('request', (r) => {
        if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) offOrigin.push(r.url())
      })
    })
    afterAll(async () => {
      await browser?.close()
    })

    it('loads and lists the operations of the document, the tutorial register/login/protected among them', async () => {
      await page.goto(`${server.url}/api/docs`)
      await page.locator('.opblock').first().waitFor()
      const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { paths: Record<string, object> }
      const count = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0)
      expect(await page.locator('.opblock').count()).toBe(count)
      for (const [method, path] of [
        ['post', '/api/register/'],
        ['post', '/api/login/'],
        ['get', '/api/protected/'],
      ] as const) {
        const block = page.locator(`.opblock-${method}`, { has: page.locator(`[data-path="${path}"]`) })
        expect(await block.count(), `${method} ${path}`).toBe(1)
      }
      expect(await page.locator('.information-container .title').first().innerText()).toMatch(/Gatehouse/)
    })

    it('"Try it out" on POST /api/login/ with a real user answers 200 with access and refresh', async () => {
      const user = await server.createUser()
      const op = page.locator('#operations-default-post_api_login')
      await op.locator('.opblock-summary').click()
      await op.getByRole('button', { name: 'Try it out' }).click()
      await op
        .locator('textarea.body-param__text')
        .fill(JSON.stringify({ username: user.username, password: user.password }))
      await op.getByRole('button', { name: 'Execute' }).click()
      const live = op.locator('.live-responses-table .response')
      await live.locator('.response-col_status').waitFor()
      expect((await live.locator('.response-col_status').innerText()).trim()).toBe('200')
      const body = JSON.parse(
        await live.locator('.response-col_description .microlight').first().innerText(),
      ) as Record<string, unknown>
      expect(Object.keys(body).sort()).toEqual(['access', 'refresh'])
      expect(body.access).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
      access = String(body.access)
    })

    it('the Authorize dialog takes that access token, and "Try it out" on GET /api/protected/ sends it as Bearer', async () => {
      // Drop the login cookies, so only the Authorization header can authenticate the call.
      await page.context().clearCookies()
      await page.locator('.auth-wrapper .authorize').click()
      const dialog = page.locator('.dialog-ux .modal-ux')
      const jwt = dialog.locator('.auth-container', { hasText: 'jwtAuth' })
      await jwt.locator('input').fill(access)
      await jwt.locator('button.authorize').click()
      // Authorized: the scheme now shows its Logout button, then the dialog closes.
      await jwt.locator('button', { hasText: 'Logout' }).waitFor()
      await dialog.locator('.close-modal').click()

      const op = page.locator('#operations-default-get_api_protected')
      await op.locator('.opblock-summary').click()
      await op.getByRole('button', { name: 'Try it out' }).click()
      await op.getByRole('button', { name: 'Execute' }).click()
      const live = op.locator('.live-responses-table .response')
      await live.locator('.response-col_status').waitFor()
      expect((await live.locator('.response-col_status').innerText()).trim()).toBe('200')
      expect(await op.locator('.curl-command').innerText()).toContain(`Authorization: Bearer ${access}`)
      const body = JSON.parse(await live.locator('.response-col_description .microlight').first().innerText())
      expect(body).toEqual({ message: expect.any(String) })
    })

    it('copies the csrftoken cookie into X-CSRFToken on unsafe methods only, for calls that the login cookies authenticate', async () => {
      const sent = await page.evaluate(() => {
        document.cookie = 'csrftoken=abc%20def; path=/'
        const ui = (
          window as unknown as { ui: { getConfigs(): { requestInterceptor(r: object): { headers: object } } } }
        ).ui
        const intercept = (method: string) =>
          ui.getConfigs().requestInterceptor({ method, url: '/api/x/', headers: {} }).headers
        return { post: intercept('POST'), delete: intercept('DELETE'), get: intercept('GET'), head: intercept('HEAD') }
      })
      expect(sent).toEqual({
        post: { 'X-CSRFToken': 'abc def' },
        delete: { 'X-CSRFToken': 'abc def' },
        get: {},
        head: {},
      })
    })

    it('ran under its CSP with no refusal, no error in the console and no request to another origin', async () => {
      expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([])
      expect(violations).toEqual([])
      expect(offOrigin).toEqual([])
    })
  },
)
