import { describe, expect, it } from 'vitest'

import { FailureFloor } from './failure-floor.js'

describe('FailureFloor', () => {
  const recorder = () => {
    const pads: number[] = []
    const floor = new FailureFloor({ sleep: (ms) => Promise.resolve(void pads.push(ms)) })
    return { floor, pads }
  }

  it('pads a fast failure up to the slowest kind measured, and a slow one not at all', async () => {
    const { floor, pads } = recorder()
    floor.record('pbkdf2_sha256$260000', 150)
    await floor.failed('bcrypt$12', 40)
    await floor.failed('pbkdf2_sha256$260000', 150)
    expect(pads).toEqual([110])
  })

  it('follows the slowest kind both ways: a slower one raises the floor for every other', async () => {
    const { floor, pads } = recorder()
    await floor.failed('bcrypt$12', 240)
    floor.record('pbkdf2_sha256$870000', 500)
    await floor.failed('bcrypt$12', 240)
    expect(pads).toEqual([260])
  })

  it('smooths each kind: one slow run moves it a fifth of the way', () => {
    const { floor } = recorder()
    floor.record('bcrypt$12', 100)
    floor.record('bcrypt$12', 600)
    expect(floor.targetMs).toBe(200)
  })

  it('waits for nothing before anything is measured, or for a difference under a millisecond', async () => {
    const { floor, pads } = recorder()
    expect(floor.targetMs).toBe(0)
    await floor.failed('bcrypt$4', 2)
    await floor.failed('bcrypt$4', 1.5)
    expect(pads).toEqual([])
  })
})
