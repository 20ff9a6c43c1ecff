import { TRPCClientError } from '@trpc/client'
import { describe, expect, it } from 'vitest'

import { isDenied, isGatehouseError } from '../src/index.js'

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

describe('isDenied', () => {
  const withReason = (code: string, httpStatus: number, reason: string) =>
    TRPCClientError.from({ error: { ...SHAPE, data: { code, httpStatus, path: 'articles.update', reason } } })

  for (const [code, status, reason] of [
    ['UNAUTHORIZED', 401, 'NOT_AUTHENTICATED'],
    ['FORBIDDEN', 403, 'NOT_PERMITTED'],
    ['TOO_MANY_REQUESTS', 429, 'THROTTLED'],
  ] as const) {
    it(`accepts ${reason}, with the reason narrowed`, () => {
      const error = withReason(code, status, reason)
      expect(isDenied(error)).toBe(true)
      if (isDenied(error)) expect(error.data.reason).toBe(reason)
    })
  }

  for (const [code, status, reason] of [
    ['NOT_FOUND', 404, 'NOT_FOUND'],
    ['UNAUTHORIZED', 401, 'TOKEN_EXPIRED'],
    ['UNAUTHORIZED', 401, 'INVALID_CREDENTIALS'],
    ['BAD_REQUEST', 400, 'INVALID_INPUT'],
  ] as const) {
    it(`rejects ${reason}`, () => {
      expect(isDenied(withReason(code, status, reason))).toBe(false)
    })
  }

  it('rejects a network failure', () => {
    expect(isDenied(new TRPCClientError('fetch failed'))).toBe(false)
  })
})
