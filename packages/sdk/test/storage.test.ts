import type { TokenStorage, WebStorageLike } from '../src/index.js'
import { describe, expect, it } from 'vitest'

import { memoryStorage, webStorage } from '../src/index.js'

/** A minimal Web Storage area, as browsers have; Node 20 has none. */
class MemoryWebStorage implements WebStorageLike {
  readonly items = new Map<string, string>()
  getItem(key: string) {
    return this.items.get(key) ?? null
  }
  setItem(key: string, value: string) {
    this.items.set(key, String(value))
  }
  removeItem(key: string) {
    this.items.delete(key)
  }
}

const PAIR = { access: 'access.jwt', refresh: 'refresh.jwt' }
const OTHER = { access: 'access.2', refresh: 'refresh.2' }

const ADAPTERS: { name: string; create: () => TokenStorage }[] = [
  { name: 'memoryStorage', create: () => memoryStorage() },
  { name: 'webStorage(localStorage-like)', create: () => webStorage(new MemoryWebStorage()) },
  { name: 'webStorage(sessionStorage-like, custom key)', create: () => webStorage(new MemoryWebStorage(), 'app.auth') },
]

for (const adapter of ADAPTERS) {
  describe(`${adapter.name}: TokenStorage contract`, () => {
    it('starts empty', async () => {
      expect(await adapter.create().get()).toBeNull()
    })

    it('returns what was set', async () => {
      const storage = adapter.create()
      await storage.set(PAIR)
      expect(await storage.get()).toEqual(PAIR)
    })

    it('replaces the pair on a second set', async () => {
      const storage = adapter.create()
      await storage.set(PAIR)
      await storage.set(OTHER)
      expect(await storage.get()).toEqual(OTHER)
    })

    it('forgets the pair on clear, and clearing twice is harmless', async () => {
      const storage = adapter.create()
      await storage.set(PAIR)
      await storage.clear()
      expect(await storage.get()).toBeNull()
      await storage.clear()
      expect(await storage.get()).toBeNull()
    })

    it('keeps only the pair, not other fields of what it was given', async () => {
      const storage = adapter.create()
      await storage.set({ ...PAIR, user: { id: 1 } } as typeof PAIR)
      expect(await storage.get()).toEqual(PAIR)
    })

    it('is not changed by mutating what set was given or what get returned', async () => {
      const storage = adapter.create()
      const given = { ...PAIR }
      await storage.set(given)
      given.access = 'tampered'
      const got = await storage.get()
      if (got) got.refresh = 'tampered'
      expect(await storage.get()).toEqual(PAIR)
    })
  })
}

describe('webStorage', () => {
  it('stores JSON under its key, so another tab or a reload sees it', async () => {
    const area = new MemoryWebStorage()
    await webStorage(area).set(PAIR)
    expect(JSON.parse(area.getItem('gatehouse.tokens') ?? 'null')).toEqual(PAIR)
    expect(await webStorage(area).get()).toEqual(PAIR)
  })

  it('keeps stores under different keys apart', async () => {
    const area = new MemoryWebStorage()
    await webStorage(area, 'a').set(PAIR)
    expect(await webStorage(area, 'b').get()).toBeNull()
    await webStorage(area, 'b').clear()
    expect(await webStorage(area, 'a').get()).toEqual(PAIR)
  })

  for (const raw of [
    '{',
    'not json',
    'null',
    '42',
    '"a string"',
    '[]',
    '{}',
    '{"access":"a"}',
    '{"access":1,"refresh":2}',
    '{"access":"","refresh":""}',
  ]) {
    it(`reads a corrupted or foreign value ${JSON.stringify(raw)} as logged out`, async () => {
      const area = new MemoryWebStorage()
      area.setItem('gatehouse.tokens', raw)
      const storage = webStorage(area)
      expect(await storage.get()).toBeNull()
      await storage.set(PAIR)
      expect(await storage.get()).toEqual(PAIR)
    })
  }

  it('uses globalThis.localStorage by default', async () => {
    const area = new MemoryWebStorage()
    const global = globalThis as { localStorage?: WebStorageLike }
    const before = global.localStorage
    global.localStorage = area
    try {
      await webStorage().set(PAIR)
      expect(area.getItem('gatehouse.tokens')).toBe(JSON.stringify(PAIR))
    } finally {
      if (before === undefined) delete global.localStorage
      else global.localStorage = before
    }
  })

  it('is a TypeError without a storage where the runtime has no localStorage', () => {
    const global = globalThis as { localStorage?: WebStorageLike }
    if (global.localStorage !== undefined) return // a runtime with Web Storage: nothing to check
    expect(() => webStorage()).toThrow(TypeError)
  })
})
