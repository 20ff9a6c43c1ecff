/**
 * The REST facade's own logic, without a server: DRF's JSON error texts (as CPython 3.11, the
 * reference's Python, prints them), the UTF-8 reader, and the route table's integrity.
 */
import { describe, expect, it } from 'vitest'

import { decodeUtf8Like, pythonJsonError } from '../src/rest/python-json.js'
import { REST_VIEWS } from '../src/rest/routes.js'
import { allowOf, compileViews } from '../src/rest/table.js'
import { appRouter } from '../src/routers/_app.js'

describe("Python's json error texts", () => {
  // Captured from `json.loads` of Python 3.11.7 (DRF's parser; NaN through DRF's strict_constant).
  it.each([
    ['{"username":', 'Expecting value: line 1 column 13 (char 12)'],
    ['{', 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
    ['{"a" 1}', "Expecting ':' delimiter: line 1 column 6 (char 5)"],
    ['{"a":1 "b":2}', "Expecting ',' delimiter: line 1 column 8 (char 7)"],
    ['{"a":1,}', 'Expecting property name enclosed in double quotes: line 1 column 8 (char 7)'],
    ['[1,]', 'Expecting value: line 1 column 4 (char 3)'],
    ['{}x', 'Extra data: line 1 column 3 (char 2)'],
    ['{"a":"b', 'Unterminated string starting at: line 1 column 6 (char 5)'],
    ['{"a":"\\x"}', 'Invalid \\escape: line 1 column 7 (char 6)'],
    ['{\n  "a": tru\n}', 'Expecting value: line 2 column 8 (char 9)'],
    ['{"é":"😀",}', 'Expecting property name enclosed in double quotes: line 1 column 10 (char 9)'],
    ['{"a":"b\tc"}', 'Invalid control character at: line 1 column 8 (char 7)'],
    ['\ufeff{}', 'Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)'],
    ['01', 'Extra data: line 1 column 2 (char 1)'],
    ['{"a":"\\u12"}', 'Invalid \\uXXXX escape: line 1 column 8 (char 7)'],
    ['{"a":"\\ud800\\u12x"}', 'Invalid \\uXXXX escape: line 1 column 14 (char 13)'],
    ['1e+', 'Extra data: line 1 column 2 (char 1)'],
    ['   ', 'Expecting value: line 1 column 4 (char 3)'],
    ['[1,\n2,\n]', 'Expecting value: line 3 column 1 (char 7)'],
    ['{"a":NaN}', "Out of range float values are not JSON compliant: 'NaN'"],
  ])('%j → %s', (text, message) => {
    expect(pythonJsonError(text)).toBe(message)
  })

  it('finds no error in what Python accepts', () => {
    expect(pythonJsonError('{"a":[1,2.5e-3,{"b":"\\ud83d\\ude00"}],"c":null}')).toBeUndefined()
  })
})

describe("Python's UTF-8 reader", () => {
  it.each([
    [[0xff], "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"],
    [[0x7b, 0xe2, 0x28], "'utf-8' codec can't decode byte 0xe2 in position 1: invalid continuation byte"],
    [[0xe2, 0x82, 0x28], "'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte"],
    [[0xed, 0xa0, 0x80], "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"],
    [[0x61, 0x62, 0xc0], "'utf-8' codec can't decode byte 0xc0 in position 2: invalid start byte"],
  ])('%j → %s', (bytes, error) => {
    expect(decodeUtf8Like(new Uint8Array(bytes))).toEqual({ error })
  })

  it('drops an incomplete sequence at the very end, as its StreamReader does', () => {
    expect(decodeUtf8Like(new Uint8Array([0x7b, 0x22, 0xe2, 0x82]))).toEqual({ text: '{"' })
    expect(decodeUtf8Like(Buffer.from('{"é":"😀"}'))).toEqual({ text: '{"é":"😀"}' })
  })
})

describe('the route table', () => {
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } } | undefined>

  it('names existing procedures; reads use queries and writes use mutations', () => {
    for (const v of REST_VIEWS) {
      for (const [method, operation] of Object.entries(v.operations)) {
        const procedure = procedures[operation.procedure]
        expect(procedure, `${method} ${v.path} → ${operation.procedure}`).toBeDefined()
        expect([`${method} ${v.path}`, procedure?._def.type]).toEqual([
          `${method} ${v.path}`,
          method === 'GET' ? 'query' : 'mutation',
        ])
      }
    }
  })

  it('has one view per URL, each with its trailing slash and typed, used parameters', () => {
    expect(new Set(REST_VIEWS.map((v) => v.path)).size).toBe(REST_VIEWS.length)
    for (const v of REST_VIEWS) {
      expect(v.path).toMatch(/^\/api\/.*\/$/)
      const inPath = [...v.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1])
      expect(Object.keys(v.params).sort()).toEqual([...inPath].sort())
      for (const operation of Object.values(v.operations)) {
        for (const source of Object.values(operation.input ?? {})) {
          if (source.in === 'path') expect(inPath).toContain(source.name)
          if (source.in === 'query') expect(operation).toBe(v.operations.GET)
        }
      }
    }
  })

  it('matches literal segments before parameters, integers only as digits that fit, and %-escapes decoded', () => {
    const match = compileViews(REST_VIEWS)
    expect(match('/api/sessions/revoke-others/')?.view.name).toBe('Session Revoke Others')
    expect(match('/api/sessions/abc/')?.params).toEqual({ id: 'abc' })
    expect(match('/api/articles/12/')?.params).toEqual({ id: 12 })
    expect(match('/api/articles/1x/')).toBeUndefined()
    // an id Postgres's integer cannot hold names no row (and would fail the lookup)
    expect(match('/api/articles/2147483647/')?.params).toEqual({ id: 2147483647 })
    expect(match('/api/articles/2147483648/')).toBeUndefined()
    expect(match('/api/admin/groups/Blue%20Team/')?.params).toEqual({ name: 'Blue Team' })
    expect(match('/api/admin/groups/%E0%A4%A/')).toBeUndefined()
  })

  it('orders Allow as DRF does', () => {
    const byPath = (path: string) => REST_VIEWS.find((v) => v.path === path)!
    expect(allowOf(byPath('/api/login/'))).toBe('POST, OPTIONS')
    expect(allowOf(byPath('/api/protected/'))).toBe('GET, HEAD, OPTIONS')
    expect(allowOf(byPath('/api/tokens/'))).toBe('GET, POST, HEAD, OPTIONS')
    expect(allowOf(byPath('/api/articles/{id}/'))).toBe('GET, PATCH, DELETE, HEAD, OPTIONS')
  })
})
