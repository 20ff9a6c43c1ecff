/**
 * GET /api/docs: the interactive API reference, Swagger UI (swagger-ui-dist) over /api/openapi.json.
 * Everything comes from this server, nothing from a CDN, so the page works offline and under a CSP
 * that allows only 'self'. The assets are a fixed list of the package's files under
 * /api/docs/assets/: a name that is not on it is a 404, so no path (`..`, `%2e%2e`, `\`) reaches
 * the disk. Each asset's URL carries its content hash (`?v=`), so it can be cached for good; an
 * asset asked for without it is revalidated by its ETag.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'

export const DOCS_PATH = '/api/docs'
export const DOCS_ASSETS = '/api/docs/assets/'
const OPENAPI_URL = '/api/openapi.json'
const INIT_SCRIPT = 'gatehouse-docs.js'

/** The package's files the page needs (maps too, for a browser's devtools), with their media types. */
const PACKAGE_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui.css.map': 'application/json',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-bundle.js.map': 'application/json',
  'favicon-16x16.png': 'image/png',
  'favicon-32x32.png': 'image/png',
}

/**
 * Swagger UI's start, a file of its own because the CSP refuses inline scripts. The request
 * interceptor copies the readable `csrftoken` cookie into `X-CSRFToken` on unsafe methods, as
 * Django's own pages do, so calls authenticated by the login cookies work from the page too;
 * Bearer and Token calls go through the Authorize dialog.
 */
const INIT_SOURCE = `'use strict'
window.addEventListener('DOMContentLoaded', function () {
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\\s*)csrftoken=([^;]*)/)
    return match ? decodeURIComponent(match[1]) : undefined
  }
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_URL)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    supportedSubmitMethods: ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'],
    requestInterceptor: function (request) {
      var token = csrfToken()
      if (token && !/^(GET|HEAD|OPTIONS|TRACE)$/i.test(request.method || 'GET')) request.headers['X-CSRFToken'] = token
      return request
    },
  })
})
`

/** The page's policy: its own scripts, styles and JSON only (Swagger UI's CSS has data: images). */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

interface Asset {
  type: string
  body: Buffer
  gzip: Buffer | undefined
  etag: string
  /** The first 16 hex digits of the sha-256, as the page's `?v=`. */
  version: string
}

function assetOf(type: string, body: Buffer): Asset {
  const hash = createHash('sha256').update(body).digest('hex')
  // Text is worth compressing (the bundle is 1.5 MB, 0.4 MB gzipped); PNGs are compressed already.
  const gzip = type.startsWith('image/') ? undefined : gzipSync(body)
  return { type, body, gzip, etag: `"${hash.slice(0, 32)}"`, version: hash.slice(0, 16) }
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  const assets = new Map<string, Asset>()
  for (const [name, type] of Object.entries(PACKAGE_FILES)) {
    assets.set(name, assetOf(type, await readFile(join(root, name))))
  }
  assets.set(INIT_SCRIPT, assetOf('text/javascript; charset=utf-8', Buffer.from(INIT_SOURCE)))
  return assets
}

function pageOf(assets: Map<string, Asset>): Buffer {
  const href = (name: string) => `${DOCS_ASSETS}${name}?v=${assets.get(name)?.version ?? ''}`
  return Buffer.from(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse API reference</title>
<link rel="stylesheet" href="${href('swagger-ui.css')}">
<link rel="icon" type="image/png" href="${href('favicon-32x32.png')}" sizes="32x32">
<link rel="icon" type="image/png" href="${href('favicon-16x16.png')}" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${href('swagger-ui-bundle.js')}"></script>
<script src="${href(INIT_SCRIPT)}"></script>
</body>
</html>
`)
}

function acceptsGzip(req: IncomingMessage): boolean {
  return /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
}

/** Answers /api/docs and /api/docs/assets/*; returns false for any other path. */
export function createDocsHandler() {
  // Read once, on the first request: a server that never shows the page never reads 6 MB.
  let loading: Promise<{ assets: Map<string, Asset>; page: Buffer }> | undefined
  const load = () =>
    (loading ??= loadAssets()
      .then((assets) => ({ assets, page: pageOf(assets) }))
      .catch((err: unknown) => {
        loading = undefined
        throw err
      }))

  function send(
    req: IncomingMessage,
    res: ServerResponse,
    reply: { status: number; headers: Record<string, string>; body?: Buffer },
  ) {
    const body = reply.body ?? Buffer.alloc(0)
    res.writeHead(reply.status, { ...SECURITY_HEADERS, ...reply.headers, 'content-length': String(body.length) })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  function notFound(req: IncomingMessage, res: ServerResponse) {
    const body = Buffer.from(JSON.stringify({ detail: 'Not found.' }))
    send(req, res, { status: 404, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body })
  }

  function serveAsset(req: IncomingMessage, res: ServerResponse, o: { asset: Asset; query: string }) {
    const { asset, query } = o
    const pinned = new URLSearchParams(query).get('v') === asset.version
    const headers: Record<string, string> = {
      'content-type': asset.type,
      etag: asset.etag,
      // A pinned URL names one content forever; a bare one must ask again.
      'cache-control': pinned ? 'public, max-age=31536000, immutable' : 'no-cache',
      vary: 'accept-encoding',
    }
    if (req.headers['if-none-match'] === asset.etag) return send(req, res, { status: 304, headers })
    if (asset.gzip && acceptsGzip(req)) {
      return send(req, res, { status: 200, headers: { ...headers, 'content-encoding': 'gzip' }, body: asset.gzip })
    }
    send(req, res, { status: 200, headers, body: asset.body })
  }

  return async function docs(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = req.url ?? '/'
    const [pathname = '/', query = ''] = url.split('?', 2)
    const isPage = pathname === DOCS_PATH || pathname === `${DOCS_PATH}/`
    if (!isPage && !pathname.startsWith(DOCS_ASSETS)) return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = Buffer.from(JSON.stringify({ detail: `Method "${req.method ?? ''}" not allowed.` }))
      const headers = { 'content-type': 'application/json', 'cache-control': 'no-store', allow: 'GET, HEAD' }
      send(req, res, { status: 405, headers, body })
      return true
    }
    const { assets, page } = await load()
    if (isPage) {
      const headers = {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        'content-security-policy': DOCS_CSP,
        'x-frame-options': 'DENY',
      }
      send(req, res, { status: 200, headers, body: page })
      return true
    }
    // The name is looked up as sent, never decoded or joined to a path.
    const asset = assets.get(pathname.slice(DOCS_ASSETS.length))
    if (asset) serveAsset(req, res, { asset, query })
    else notFound(req, res)
    return true
  }
}
