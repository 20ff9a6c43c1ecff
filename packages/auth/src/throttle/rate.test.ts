import { describe, expect, it } from 'vitest'

import { parseRate } from './rate.js'

describe('parseRate', () => {
  it.each([
    ['100/min', 100, 60],
    ['100/m', 100, 60],
    ['5/s', 5, 1],
    ['5/sec', 5, 1],
    ['5/second', 5, 1],
    ['5/seconds', 5, 1],
    ['1000/hour', 1000, 3600],
    ['20/h', 20, 3600],
    ['7/day', 7, 86_400],
    ['7/D', 7, 86_400],
    ['10/15m', 10, 900],
    ['3/2s', 3, 2],
    [' 10 / 12h ', 10, 43_200],
  ])('reads DRF units and durations: %s', (value, limit, windowSeconds) => {
    expect(parseRate(value)).toEqual({ limit, windowSeconds })
  })

  it.each([
    '',
    'off',
    '100',
    '100/',
    '/min',
    '0/min',
    '-1/min',
    '1.5/min',
    '10/15',
    '10/ms',
    '10/constructor',
    '10/fortnight',
    '10/0s',
  ])('refuses anything else: %j', (value) => {
    expect(parseRate(value)).toBeNull()
  })
})
