/**
 * How far a token is through its life, as a client can tell without verifying it: the lifetime
 * is `exp − iat` from its payload (the server's own numbers, so no clock skew in it), and the
 * time elapsed is counted on this client's clock from when this client received the token. Only
 * a token that arrived some other way (read back from persistent storage after a page reload, or
 * written there by another tab) falls back to `iat` against this client's clock, which is as good
 * as the two clocks agree.
 *
 * Nothing here is a security decision: the server verifies every token. The SDK only uses it to
 * refresh a sliding token before its `exp`, the last moment the server will still refresh it.
 */

export interface TokenAge {
  /** Milliseconds since the token was issued (see above for how). */
  elapsedMs: number
  /** Milliseconds between its `iat` and its `exp`. */
  lifetimeMs: number
}

/**
 * @example
 * const age = tokenAge(token, { receivedAt: session.receivedAt(token), now: Date.now() })
 * const halfway = age !== undefined && age.elapsedMs * 2 >= age.lifetimeMs
 */
export function tokenAge(token: string, at: { receivedAt: number | undefined; now: number }): TokenAge | undefined {
  const claims = readPayload(token)
  const iat = claims?.['iat']
  const exp = claims?.['exp']
  if (typeof iat !== 'number' || typeof exp !== 'number' || !(exp > iat)) return undefined
  return { elapsedMs: at.now - (at.receivedAt ?? iat * 1000), lifetimeMs: (exp - iat) * 1000 }
}

/** A JWT's payload (base64url JSON, unverified), or undefined if it is not one. */
function readPayload(token: string): Record<string, unknown> | undefined {
  const segment = token.split('.')[1]
  if (!segment) return undefined
  try {
    const base64 = segment.replaceAll('-', '+').replaceAll('_', '/')
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='))
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))
    const value: unknown = JSON.parse(json)
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
