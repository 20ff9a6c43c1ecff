import { TRPCClientError } from '@trpc/client'
import { describe, expect, it } from 'vitest'

import { isGatehouseError } from '../src/index.js'

const SHAPE = {
  code: -32_001,
  message: 'Token is invalid or expired',
  data: { code: 'UNAUTHORIZED', httpStatus: 401, path: 'auth.me', reason: 'TOKEN_EXPIRED' },
}

describe('isGatehouseError', () => {
  it('accepts a client error built from a server error response', () => {
    const error = TRPCClientError.from({ error: SHAPE })
    expect(isGatehouseError(error)).toBe(true)
    if (isGatehouseError(error)) expect(error.data.reason).toBe('TOKEN_EXPIRED')
  })

  it('accepts one from another copy of @trpc/client, by name', () => {
    const error = Object.assign(new Error('x'), { name: 'TRPCClientError', data: SHAPE.data })
    expect(isGatehouseError(error)).toBe(true)
  })

  for (const [label, value] of [
    ['a network failure', new TRPCClientError('fetch failed', { cause: new TypeError('fetch failed') })],
    ['a plain Error', new Error('x')],
    ['a plain object shaped like the response', { name: 'TRPCClientError', data: SHAPE.data }],
    ['null', null],
    ['a string', 'UNAUTHORIZED'],
    [
      'a client error whose data lacks httpStatus',
      Object.assign(new Error('x'), { name: 'TRPCClientError', data: { code: 'X' } }),
    ],
  ] as const) {
    it(`rejects ${label}`, () => {
      expect(isGatehouseError(value)).toBe(false)
    })
  }
})
