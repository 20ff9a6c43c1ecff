import { describe, expect, it } from 'vitest'

import { throttleAddress } from './address.js'

describe('throttleAddress', () => {
  it('counts an IPv4 address, plain or mapped into IPv6, as itself', () => {
    for (const [given, counted] of [
      ['203.0.113.7', '203.0.113.7'],
      ['::ffff:203.0.113.7', '203.0.113.7'],
      ['::FFFF:198.51.100.1', '198.51.100.1'],
    ] as const) {
      expect(throttleAddress(given)).toBe(counted)
    }
  })

  it('attack: every address of one IPv6 /64 shares one counter, however it is spelled', () => {
    const spellings = [
      '2001:db8:0:1:a:b:c:d',
      '2001:0db8:0000:0001:ffff:ffff:ffff:ffff',
      '2001:db8::1:0:0:0:1',
      '2001:DB8:0:1::',
      '2001:db8:0:1::1%eth0',
      '2001:db8:0:1:0:0:1.2.3.4',
    ]
    for (const address of spellings) expect(throttleAddress(address)).toBe('2001:db8:0:1::/64')
    expect(throttleAddress('2001:db8:0:2::1')).toBe('2001:db8:0:2::/64')
    expect(throttleAddress('::1')).toBe('0:0:0:0::/64')
    expect(throttleAddress('fe80::1')).toBe('fe80:0:0:0::/64')
  })

  it('leaves anything that is not an IP address as it is', () => {
    for (const label of ['', 'cli', 'not:an:ip', '2001:db8::1::2']) expect(throttleAddress(label)).toBe(label)
  })
})
