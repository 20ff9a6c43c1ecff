import type { IncomingMessage } from 'node:http'

import { describe, expect, it } from 'vitest'

import { clientAddress } from '../src/kit/client-address.js'

const req = (remoteAddress: string | undefined, forwarded?: string | string[]) =>
  ({
    socket: { remoteAddress },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  }) as unknown as IncomingMessage

describe('the client address (DRF get_ident with NUM_PROXIES)', () => {
  it('is the peer by default, whatever X-Forwarded-For claims', () => {
    expect(clientAddress(req('10.0.0.5', '203.0.113.9'), 0)).toBe('10.0.0.5')
    expect(clientAddress(req('::ffff:10.0.0.5'), 0)).toBe('10.0.0.5')
    expect(clientAddress(req('2001:db8::1'), 0)).toBe('2001:db8::1')
    expect(clientAddress(req(undefined), 0)).toBeUndefined()
  })

  it('behind N trusted proxies is the N-th entry from the right; the client’s own entries never count', () => {
    expect(clientAddress(req('10.0.0.5', '203.0.113.9'), 1)).toBe('203.0.113.9')
    expect(clientAddress(req('10.0.0.5', '198.51.100.1, 203.0.113.9'), 1)).toBe('203.0.113.9')
    // a CDN then a balancer: the CDN appended the client, the balancer appended the CDN
    expect(clientAddress(req('10.0.0.5', '198.51.100.1,203.0.113.9, 192.0.2.44'), 2)).toBe('203.0.113.9')
    // fewer hops than proxies: the leftmost, as DRF
    expect(clientAddress(req('10.0.0.5', '203.0.113.9'), 3)).toBe('203.0.113.9')
    // repeated headers, as node would hand them over unjoined
    expect(clientAddress(req('10.0.0.5', ['198.51.100.1', '203.0.113.9']), 1)).toBe('203.0.113.9')
    expect(clientAddress(req('10.0.0.5', ' ::ffff:203.0.113.9 '), 1)).toBe('203.0.113.9')
    expect(clientAddress(req('10.0.0.5', '2001:db8::7'), 1)).toBe('2001:db8::7')
  })

  it('falls back to the peer when there is no header or no address at that place', () => {
    expect(clientAddress(req('10.0.0.5'), 1)).toBe('10.0.0.5')
    expect(clientAddress(req('10.0.0.5', ''), 1)).toBe('10.0.0.5')
    expect(clientAddress(req('10.0.0.5', 'unknown'), 1)).toBe('10.0.0.5')
    expect(clientAddress(req('10.0.0.5', '203.0.113.9, '), 1)).toBe('10.0.0.5')
    expect(clientAddress(req('10.0.0.5', '203.0.113.9:4711'), 1)).toBe('10.0.0.5')
  })
})
