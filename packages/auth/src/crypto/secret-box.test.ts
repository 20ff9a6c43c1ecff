import { describe, expect, it } from 'vitest'

import { SecretBox, SecretKeyError } from './secret-box.js'

const KEY = 'k'.repeat(20) + 'another-part-of-the-key'
const OTHER = 'o'.repeat(20) + 'a-different-secret-key'

describe('SecretBox (AES-256-GCM under an HKDF key)', () => {
  const box = new SecretBox({ secretKey: KEY })

  it('round trips, in the versioned format, with a fresh IV each time', () => {
    const a = box.seal('{"d":"private"}', 'signing_keys:abc')
    const b = box.seal('{"d":"private"}', 'signing_keys:abc')
    expect(a).toMatch(/^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/)
    expect(a).not.toBe(b)
    expect(a).not.toContain('private')
    expect(SecretBox.isSealed(a)).toBe(true)
    expect(SecretBox.isSealed('{"d":"private"}')).toBe(false)
    expect(box.open(a, 'signing_keys:abc')).toEqual({ plaintext: '{"d":"private"}', stale: false })
    expect(box.open(box.seal('', 'x'), 'x').plaintext).toBe('')
  })

  it('attack: another secret key cannot open it', () => {
    const sealed = box.seal('secret', 'oauth_secrets:cookie-key')
    const other = new SecretBox({ secretKey: OTHER })
    expect(() => other.open(sealed, 'oauth_secrets:cookie-key', 'OAuth secret "cookie-key"')).toThrow(
      new SecretKeyError('OAuth secret "cookie-key"'),
    )
  })

  it('attack: any altered part is refused', () => {
    const sealed = box.seal('secret value', 'ctx')
    const [version, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string]
    const flip = (part: string) => `${part[0] === 'A' ? 'B' : 'A'}${part.slice(1)}`
    for (const altered of [
      [version, flip(iv), ciphertext, tag],
      [version, iv, flip(ciphertext), tag],
      [version, iv, ciphertext, flip(tag)],
      [version, iv, ciphertext.slice(0, -2), tag],
      ['v2', iv, ciphertext, tag],
    ]) {
      expect(() => box.open(altered.join('.'), 'ctx'), altered.join('.')).toThrow(SecretKeyError)
    }
    expect(() => box.open('{"kty":"OKP"}', 'ctx')).toThrow('it is not in the encrypted format')
  })

  it('attack: a ciphertext moved to another row (other additional data) is refused', () => {
    const sealed = box.seal('private key of A', 'signing_keys:A')
    expect(() => box.open(sealed, 'signing_keys:B')).toThrow(SecretKeyError)
    expect(() => box.open(sealed, 'oauth_secrets:A')).toThrow(SecretKeyError)
  })

  it('opens under a fallback key and says so (re-encrypt it under the current one)', () => {
    const old = new SecretBox({ secretKey: OTHER })
    const sealed = old.seal('kept', 'ctx')
    const rotated = new SecretBox({ secretKey: KEY, fallbacks: [OTHER] })
    expect(rotated.open(sealed, 'ctx')).toEqual({ plaintext: 'kept', stale: true })
    const resealed = rotated.seal('kept', 'ctx')
    expect(box.open(resealed, 'ctx')).toEqual({ plaintext: 'kept', stale: false })
  })

  it('derives a separate sub-key per purpose, one per secret key, never the box key', () => {
    const rotated = new SecretBox({ secretKey: KEY, fallbacks: [OTHER] })
    const [current, older] = rotated.derive('gatehouse drf-token v1')
    expect(current).toHaveLength(32)
    expect(current?.equals(box.derive('gatehouse drf-token v1')[0] as Buffer)).toBe(true)
    expect(current?.equals(older as Buffer)).toBe(false)
    expect(current?.equals(box.derive('another purpose')[0] as Buffer)).toBe(false)
    expect(() => box.derive('gatehouse secret-box v1')).toThrow(TypeError)
  })

  it('refuses a secret key shorter than 32 characters', () => {
    expect(() => new SecretBox({ secretKey: 'short' })).toThrow(TypeError)
    expect(() => new SecretBox({ secretKey: KEY, fallbacks: ['short'] })).toThrow(TypeError)
  })
})
