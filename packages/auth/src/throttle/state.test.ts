import { describe, expect, it } from 'vitest'

import { ThrottleState } from './state.js'

describe('ThrottleState', () => {
  it('remembers a refusal only inside its window', () => {
    const state = new ThrottleState()
    state.block('k', { fromMs: 1000, untilMs: 2000 })
    expect(state.blockedUntil('k', 999)).toBeUndefined() // a clock set back is not in the window
    expect(state.blockedUntil('k', 1000)).toBe(2000)
    expect(state.blockedUntil('k', 1999)).toBe(2000)
    expect(state.blockedUntil('k', 2000)).toBeUndefined()
    expect(state.blockedUntil('other', 1500)).toBeUndefined()
  })

  it('stays bounded by forgetting the oldest refusal first', () => {
    const state = new ThrottleState({ maxBlockedKeys: 2 })
    const window = { fromMs: 0, untilMs: 10_000 }
    state.block('a', window)
    state.block('b', window)
    state.block('c', window)
    expect(state.blockedUntil('a', 5)).toBeUndefined()
    expect(state.blockedUntil('b', 5)).toBe(10_000)
    expect(state.blockedUntil('c', 5)).toBe(10_000)
  })

  it('grants pruning at most once a minute', () => {
    const state = new ThrottleState()
    expect(state.claimPrune(0)).toBe(true)
    expect(state.claimPrune(59_999)).toBe(false)
    expect(state.claimPrune(60_000)).toBe(true)
    expect(state.claimPrune(60_001)).toBe(false)
  })
})
