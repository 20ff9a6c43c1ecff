/**
 * The requests the OAuth server rewrites before oidc-provider sees them: JWTs handed to introspection
 * and revocation become their `jti`, and every request is mounted under OAUTH_PATH.
 */
import type { IncomingMessage } from 'node:http'
import { IncomingMessage as NodeIncomingMessage } from 'node:http'

import { readBody } from '../kit/body.js'
import type { AccessTokenKeys } from './access-tokens.js'
import { isJwt, jtiOf } from './access-tokens.js'
import { OAUTH_PATH } from '../oauth-core/settings.js'

const FORM_BODY_LIMIT = 56 * 1024

/**
 * The provider refuses to introspect or revoke JWTs (it keeps no record of them); ours it has a
 * record of under their `jti`. A JWT that verifies with our keys is handed on as its jti; any other
 * JWT as a value that matches nothing (inactive, and a no-op to revoke, as RFC 7662/7009 want).
 * A body over the limit is readBody's RestError.
 */
export async function withJwtAsJti(req: IncomingMessage, keys: Omit<AccessTokenKeys, 'db'>): Promise<IncomingMessage> {
  const body = await readBody(req, FORM_BODY_LIMIT)
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase()
  let out = body
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(body.toString('utf8'))
    const token = form.get('token')
    if (token && isJwt(token)) {
      form.set('token', await jtiOf(token, keys))
      out = Buffer.from(form.toString(), 'utf8')
    }
  }
  const replay = new NodeIncomingMessage(req.socket)
  replay.method = req.method ?? 'POST'
  replay.url = req.url ?? '/'
  replay.headers = { ...req.headers, 'content-length': String(out.length) }
  replay.rawHeaders = req.rawHeaders
  replay.httpVersion = req.httpVersion
  replay.httpVersionMajor = req.httpVersionMajor
  replay.httpVersionMinor = req.httpVersionMinor
  // Complete as far as node:http is concerned: otherwise its end would count as an abort and destroy the socket.
  replay.complete = true
  replay.push(out)
  replay.push(null)
  return replay
}

/** Mounted under /oauth the way express mounts it: originalUrl keeps the prefix, url drops it. */
export function mountUnderOAuthPath(req: IncomingMessage): void {
  const original = req.url ?? '/'
  Object.assign(req, { originalUrl: original, url: original.slice(OAUTH_PATH.length) || '/' })
}
