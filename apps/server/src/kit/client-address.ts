/**
 * Who the client is, by address: what anonymous throttles, login-failure counters and audit
 * rows key on. DRF's `get_ident` with its `NUM_PROXIES` setting, secure by default.
 */
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/** An IPv4 client of a dual-stack socket counts as its IPv4 address. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address
}

/**
 * The connection's peer when `numProxies` is 0 (the default: a client cannot choose its own
 * address). With `numProxies` trusted proxies in front, each appending the address it received
 * the request from to `X-Forwarded-For`, the client is the `numProxies`-th entry from the right
 * (the one the outermost trusted proxy appended), as DRF picks `addrs[-min(NUM_PROXIES, len)]`.
 * Entries further left are the client's own claims and never count. No header, or no IP address
 * at that place (a proxy not configured as promised), falls back to the peer.
 *
 * @example
 * // NUM_PROXIES=1, the balancer at 10.0.0.5; the client sent its own X-Forwarded-For: 1.2.3.4
 * clientAddress(req, 1) // X-Forwarded-For: 1.2.3.4, 203.0.113.9 → '203.0.113.9'
 */
export function clientAddress(req: IncomingMessage, numProxies: number): string | undefined {
  const peer = req.socket.remoteAddress === undefined ? undefined : plain(req.socket.remoteAddress)
  // node joins repeated X-Forwarded-For headers with ", ", so this is every hop in order.
  const forwarded = numProxies > 0 ? req.headers['x-forwarded-for'] : undefined
  if (!forwarded) return peer
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',')
  const hop = hops[Math.max(0, hops.length - numProxies)]?.trim()
  const address = hop ? plain(hop) : ''
  return isIP(address) ? address : peer
}
