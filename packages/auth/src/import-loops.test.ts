/**
 * packages/auth's modules import one another one way only (issue 17): no loop, type-only loops
 * included. The detector is the SDK's (packages/sdk/test/import-graph.ts, tested there), given
 * this package's src directory.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

import { findImportCycles } from '../../sdk/test/import-graph.js'

describe('packages/auth/src', () => {
  it('has no import loop, type-only ones included', () => {
    expect(findImportCycles(fileURLToPath(new URL('.', import.meta.url)))).toEqual([])
  })
})
