/**
 * The identity an address throttle counts. One IPv6 client usually holds a whole /64 (SLAAC,
 * privacy addresses, a provider's delegation), so counting single IPv6 addresses would give it
 * 2^64 fresh limits; IPv6 is counted by its /64, IPv4 (and IPv4 mapped into IPv6) by the address.
 * Audit rows keep the full address: only the throttle's key is grouped.
 */
import { isIPv4, isIPv6 } from 'node:net'

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/** The eight 16-bit groups of an IPv6 address, or null if it is not one. */
function ipv6Groups(address: string): number[] | null {
  if (!isIPv6(address)) return null
  const withoutZone = address.split('%', 1)[0] ?? ''
  let text = withoutZone
  // A trailing dotted IPv4 part (::1.2.3.4) is two groups.
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  const missing = 8 - left.length - right.length
  return [...left, ...Array<number>(tail === undefined ? 0 : missing).fill(0), ...right]
}

/**
 * @example
 * throttleAddress('203.0.113.7') // '203.0.113.7'
 * throttleAddress('::ffff:203.0.113.7') // '203.0.113.7'
 * throttleAddress('2001:db8:0:1:a:b:c:d') // '2001:db8:0:1::/64'
 */
export function throttleAddress(address: string): string {
  if (isIPv4(address)) return address
  const mapped = MAPPED_IPV4.exec(address)?.[1]
  if (mapped && isIPv4(mapped)) return mapped
  const groups = ipv6Groups(address)
  if (!groups) return address // not an IP (an in-process caller's label): counted as given
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`
}
