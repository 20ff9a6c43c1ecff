/** How the OAuth server answers outside oidc-provider: JSON errors and replies, Secure cookies. */
import type { ServerResponse } from 'node:http'

import type { JsonReply } from '../kit/json.js'
import { sendJson as sendKitJson } from '../kit/json.js'

/** Like the RFC 6750 / 7662 answers the provider gives itself. */
export function sendJson(res: ServerResponse, reply: JsonReply): void {
  sendKitJson(res, reply, 'application/json; charset=utf-8')
}

/** Adds `secure` to every Set-Cookie of this response that lacks it. */
export function markCookiesSecure(res: ServerResponse): void {
  const setHeader = res.setHeader.bind(res)
  res.setHeader = (name: string, value: number | string | readonly string[]) => {
    if (name.toLowerCase() !== 'set-cookie') return setHeader(name, value)
    const lines = (Array.isArray(value) ? value : [String(value)]) as string[]
    return setHeader(
      name,
      lines.map((line) => (/;\s*secure\s*(;|$)/i.test(line) ? line : `${line}; secure`)),
    )
  }
}
