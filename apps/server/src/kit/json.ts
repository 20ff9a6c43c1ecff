import type { ServerResponse } from 'node:http'

export interface JsonReply {
  status: number
  body: unknown
  headers?: Record<string, string>
}

/**
 * A JSON answer that no cache keeps (errors, tokens, health). The OAuth server names its charset,
 * as oidc-provider's own answers do; the rest of the server sends the bare media type.
 */
export function sendJson(res: ServerResponse, reply: JsonReply, contentType = 'application/json'): void {
  const { status, body, headers = {} } = reply
  const payload = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': contentType,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  })
  res.end(payload)
}
