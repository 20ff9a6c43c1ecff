/**
 * The SDK's modules import one another one way only (issue 17): no loop, type-only loops
 * included. The detector is tested on a small tree of its own first, so that an empty answer for
 * the SDK means "no loop", not "saw nothing".
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { findImportCycles, importGraph } from './import-graph.js'

const SDK_SRC = fileURLToPath(new URL('../src', import.meta.url))

describe('findImportCycles', () => {
  let dir: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-import-graph-'))
    mkdirSync(join(dir, 'internal'))
    const files: Record<string, string> = {
      'index.ts': "export { a } from './a.js'\nexport type { B } from './b.js'\n",
      // A type-only loop, through a subfolder: a.ts → internal/b-helper.ts → b.ts → a.ts.
      'a.ts': "import type { Helper } from './internal/b-helper.js'\nexport const a = (h: Helper) => h\n",
      'internal/b-helper.ts': "export type Helper = import('../b.js').B\n",
      'b.ts': "import { a } from './a.js'\nexport type B = typeof a\n",
      // Imports that are no edge: a comment, a string, a package, and a test beside the source.
      'c.ts': "/** import { a } from './a.js' */\nimport 'node:fs'\nexport const s = \"from './b.js'\"\n",
      'c.test.ts': "import { s } from './c.js'\nimport { a } from './a.js'\nexport { s, a }\n",
      // A module importing itself is a loop too.
      'd.ts': "export type { D } from './d.js'\nexport type D = 1\n",
    }
    for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source)
  })

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('should read value, type, re-export and import() type imports, and nothing in comments or strings', () => {
    expect(Object.fromEntries(importGraph(dir))).toEqual({
      'a.ts': ['internal/b-helper.ts'],
      'b.ts': ['a.ts'],
      'c.ts': [],
      'd.ts': ['d.ts'],
      'index.ts': ['a.ts', 'b.ts'],
      'internal/b-helper.ts': ['b.ts'],
    })
  })

  it('should find a type-only loop and a self-import, each once', () => {
    expect(findImportCycles(dir)).toEqual([
      ['a.ts', 'internal/b-helper.ts', 'b.ts', 'a.ts'],
      ['d.ts', 'd.ts'],
    ])
  })

  it('should refuse a relative import that names no file, rather than miss an edge', () => {
    const broken = mkdtempSync(join(tmpdir(), 'gatehouse-import-graph-'))
    try {
      writeFileSync(join(broken, 'a.ts'), "import type { X } from './missing.js'\nexport type Y = X\n")
      expect(() => findImportCycles(broken)).toThrow('a.ts: cannot resolve the import of ./missing.js')
    } finally {
      rmSync(broken, { recursive: true, force: true })
    }
  })
})

describe('the SDK source', () => {
  it('should have no import loop, type-only imports included', () => {
    expect(findImportCycles(SDK_SRC)).toEqual([])
  })
})
