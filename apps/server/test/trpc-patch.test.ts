/**
 * patches/@trpc__server@11.25.2.patch replaces the object-spread helper of tRPC's published build
 * and the spreads of its middleware loop (callRecursive) with faster code (docs/performance.md).
 * The contract suite runs every procedure through it; this file pins the two properties a patch
 * can lose: that it is applied at all (a version bump silently drops it), and that the new helper
 * copies exactly what the one it replaced did, on the cases that differ between copy styles.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

import { describe, expect, it } from 'vitest'

type Spread = (target: object, ...sources: unknown[]) => object

const dist = join(dirname(createRequire(import.meta.url).resolve('@trpc/server/package.json')), 'dist')
const chunk = (prefix: string) => {
  const name = readdirSync(dist).find((f) => f.startsWith(prefix) && f.endsWith('.mjs'))
  if (!name) throw new Error(`no ${prefix}*.mjs in ${dist}`)
  return join(dist, name)
}

/** The helper as tRPC 11.25.2 publishes it (oxc-project runtime's objectSpread2), verbatim in effect. */
function referenceSpread(e: Record<PropertyKey, unknown>, ...sources: unknown[]) {
  const ownKeys = (o: object, enumerableOnly: boolean) => {
    const keys: PropertyKey[] = Object.keys(o)
    let symbols = Object.getOwnPropertySymbols(o)
    if (enumerableOnly) symbols = symbols.filter((s) => Object.getOwnPropertyDescriptor(o, s)!.enumerable)
    keys.push(...symbols)
    return keys
  }
  const define = (key: PropertyKey, value: unknown) => {
    if (key in e) Object.defineProperty(e, key, { value, enumerable: true, configurable: true, writable: true })
    else e[key] = value
  }
  sources.forEach((source, i) => {
    const t = (source ?? {}) as Record<PropertyKey, unknown>
    if ((i + 1) % 2) ownKeys(Object(t), true).forEach((key) => define(key, t[key]))
    else Object.defineProperties(e, Object.getOwnPropertyDescriptors(t))
  })
  return e
}

/** Everything observable about an object's own properties and prototype. */
function shape(o: object) {
  return {
    proto: Object.getPrototypeOf(o) as unknown,
    keys: Reflect.ownKeys(o),
    descriptors: Reflect.ownKeys(o).map((k) => Object.getOwnPropertyDescriptor(o, k)),
  }
}

describe('the @trpc/server patch', () => {
  it('is applied to the installed package', () => {
    expect(readFileSync(chunk('initTRPC-'), 'utf8')).toContain('Gatehouse patch: native object spreads')
    expect(readFileSync(chunk('getErrorShape-'), 'utf8')).toContain('Gatehouse patch: the same copy')
  })

  it('copies what the published helper copied: symbols, getters, non-enumerables, __proto__, overrides', async () => {
    const mod = (await import(pathToFileURL(chunk('getErrorShape-')).href)) as Record<string, unknown>
    // The chunk exports its helpers under one-letter names; find the spread by what it does.
    const spread = Object.values(mod).find(
      (f): f is Spread =>
        typeof f === 'function' && f.length === 1 && (() => {
          try {
            return JSON.stringify((f as Spread)({}, { a: 1 }, {}, { b: 2 })) === '{"a":1,"b":2}'
          } catch {
            return false
          }
        })(),
    )
    expect(spread).toBeDefined()
    const sym = Symbol('s')
    const hidden = Symbol('hidden')
    const withGetter = {
      get computed() {
        return 42
      },
    }
    const nonEnumerable = Object.defineProperty({ shown: 1 }, 'hidden', { value: 2, enumerable: false })
    Object.defineProperty(nonEnumerable, hidden, { value: 3, enumerable: false })
    const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as object
    const cases: unknown[][] = [
      [{ a: 1, b: 2 }],
      [{ a: 1 }, {}, { a: 2, c: 3 }],
      [{ [sym]: 'symbol', 2: 'int', 1: 'int first', z: 'last' }],
      [withGetter], // a spread reads the getter once and stores its value
      [{}, withGetter], // an even (literal) argument keeps the getter itself
      [nonEnumerable],
      [{}, nonEnumerable],
      [protoKey], // an own "__proto__" key is defined, never set as the prototype
      [null, undefined, { k: 1 }],
      ['ab'],
    ]
    for (const sources of cases) {
      expect(shape(spread!({}, ...sources))).toEqual(shape(referenceSpread({}, ...sources)))
    }
    // the target itself is returned and filled in place
    const target = { keep: true }
    expect(spread!(target, { added: 1 })).toBe(target)
    expect(target).toEqual({ keep: true, added: 1 })
  })
})
