import bcrypt from 'bcrypt'
import { describe, expect, it } from 'vitest'

import { hashPassword, isVerifiableHash, verifyDummyPassword, verifyPassword } from './hash.js'

const opts = { cost: 4 }

// Produced outside this codebase, so they check compatibility rather than agreement with itself.
// Django 3.2's test_hashers.py vector; Python's hashlib.pbkdf2_hmac prints the same base64.
const DJANGO_PBKDF2 = 'pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo='
// Django's BCryptSHA256PasswordHasher.encode, run with Python's bcrypt at cost 4.
const DJANGO_BCRYPT_SHA256 = 'bcrypt_sha256$$2b$04$L2TEiCylrEKIdZBhboqaiO7QekUJbxFTdUGM6FJfAtJ0pFxtYPfKq'

describe('hashPassword', () => {
  it('writes a Django bcrypt_sha256 hash at the requested cost', async () => {
    const encoded = await hashPassword('lètmein', opts)
    expect(encoded).toMatch(/^bcrypt_sha256\$\$2b\$04\$[./A-Za-z0-9]{53}$/)
    await expect(verifyPassword('lètmein', encoded, opts)).resolves.toEqual({ valid: true, needsRehash: false })
  })

  it('salts every hash', async () => {
    expect(await hashPassword('same', opts)).not.toBe(await hashPassword('same', opts))
  })

  it('rejects a cost bcrypt would clamp or can not run', async () => {
    for (const cost of [3, 32, 4.5, Number.NaN, -1]) {
      await expect(hashPassword('pw', { cost })).rejects.toThrow(TypeError)
    }
  })
})

describe('verifyPassword', () => {
  it('accepts the right password and rejects a wrong one', async () => {
    const encoded = await hashPassword('correct horse', opts)
    await expect(verifyPassword('correct horse', encoded, opts)).resolves.toEqual({ valid: true, needsRehash: false })
    for (const wrong of ['correct horse ', 'Correct horse', '', 'correct hors']) {
      await expect(verifyPassword(wrong, encoded, opts)).resolves.toEqual({ valid: false, needsRehash: false })
    }
  })

  it('verifies a bcrypt_sha256 hash made by Django', async () => {
    await expect(verifyPassword('lètmein', DJANGO_BCRYPT_SHA256, opts)).resolves.toEqual({
      valid: true,
      needsRehash: false,
    })
    await expect(verifyPassword('letmein', DJANGO_BCRYPT_SHA256, opts)).resolves.toMatchObject({ valid: false })
  })

  it('flags a correct password for rehash when the cost changed', async () => {
    const encoded = await hashPassword('pw', { cost: 4 })
    await expect(verifyPassword('pw', encoded, { cost: 5 })).resolves.toEqual({ valid: true, needsRehash: true })
  })

  it('never asks to rehash on a wrong password', async () => {
    const encoded = await hashPassword('pw', { cost: 4 })
    await expect(verifyPassword('nope', encoded, { cost: 5 })).resolves.toEqual({ valid: false, needsRehash: false })
    await expect(verifyPassword('nope', DJANGO_PBKDF2, opts)).resolves.toEqual({ valid: false, needsRehash: false })
  })

  it('does not let 100-byte passwords that differ only after byte 72 verify against each other', async () => {
    const prefix = 'a'.repeat(80)
    const first = `${prefix}${'1'.repeat(20)}`
    const second = `${prefix}${'2'.repeat(20)}`
    expect(Buffer.byteLength(first)).toBe(100)
    // Plain bcrypt would accept it: the property only holds because of the SHA-256 step.
    expect(await bcrypt.compare(second, await bcrypt.hash(first, 4))).toBe(true)

    const encoded = await hashPassword(first, opts)
    await expect(verifyPassword(first, encoded, opts)).resolves.toMatchObject({ valid: true })
    await expect(verifyPassword(second, encoded, opts)).resolves.toMatchObject({ valid: false })
  })

  it('verifies a pbkdf2_sha256 hash from Django and asks to move it to bcrypt', async () => {
    await expect(verifyPassword('lètmein', DJANGO_PBKDF2, opts)).resolves.toEqual({ valid: true, needsRehash: true })
  })

  it('treats unknown and corrupt formats as invalid without throwing', async () => {
    const password = 'lètmein'
    const bcryptPart = DJANGO_BCRYPT_SHA256.slice('bcrypt_sha256$'.length)
    for (const encoded of [
      '',
      'garbage',
      '!unusable-password',
      bcryptPart, // bare bcrypt without Django's prefix
      `bcrypt$${bcryptPart}`, // Django's BCryptPasswordHasher, not supported
      'bcrypt_sha256$',
      'bcrypt_sha256$$2b$04$tooshort',
      `bcrypt_sha256$${bcryptPart.replace('$04$', '$99$')}`,
      `bcrypt_sha256$${bcryptPart}x`,
      'pbkdf2_sha256$',
      'pbkdf2_sha256$260000$seasalt',
      'pbkdf2_sha256$0$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=',
      'pbkdf2_sha256$-1$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=',
      'pbkdf2_sha256$1e5$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=',
      'pbkdf2_sha256$99999999999$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=',
      'pbkdf2_sha256$260000$$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=',
      'pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQ',
      'pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=$extra',
      'pbkdf2_sha256$260000$seasalt$YlZ2Vggt!qdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=',
      'pbkdf2_sha1$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=',
      'argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$aGFzaA',
    ]) {
      await expect(verifyPassword(password, encoded, opts), encoded).resolves.toEqual({
        valid: false,
        needsRehash: false,
      })
    }
  })

  it('spends a bcrypt compare on a hash it cannot read', async () => {
    const slow = { cost: 10 } // ~50 ms per compare, far above the cost of parsing
    await verifyDummyPassword('warm up the memoised dummy hash', slow)
    const started = performance.now()
    await verifyPassword('pw', 'garbage', slow)
    expect(performance.now() - started).toBeGreaterThan(10)
  })
})

describe('verifyDummyPassword', () => {
  it('always answers false', async () => {
    for (const password of ['', 'pw', 'gatehouse-dummy-password', 'x'.repeat(200)]) {
      await expect(verifyDummyPassword(password, opts)).resolves.toBe(false)
    }
  })

  it('can run concurrently at several costs', async () => {
    const results = await Promise.all([4, 5, 4, 5].map((cost) => verifyDummyPassword('pw', { cost })))
    expect(results).toEqual([false, false, false, false])
  })
})

describe('isVerifiableHash', () => {
  it('accepts exactly the hashes verifyPassword can check', async () => {
    expect(isVerifiableHash(DJANGO_PBKDF2)).toBe(true)
    expect(isVerifiableHash(DJANGO_BCRYPT_SHA256)).toBe(true)
    expect(isVerifiableHash(await hashPassword('pw', opts))).toBe(true)
    for (const encoded of [
      '',
      '!Q2x9aFv8RHwz4WJ0k1u7s3m5n6b8c0d2e4f6g8h',
      'argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$aGFzaA',
      'md5$seasalt$f5531bef9f3687d0ccf0f617f0e25573',
      'pbkdf2_sha1$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=',
      'pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQ',
      `bcrypt$${DJANGO_BCRYPT_SHA256.slice('bcrypt_sha256$'.length)}`,
      'bcrypt_sha256$$2b$04$tooshort',
    ]) {
      expect(isVerifiableHash(encoded), encoded).toBe(false)
    }
  })
})
