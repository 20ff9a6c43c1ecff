import { describe, expect, it } from 'vitest'

import { GroupCommit } from './group-commit.js'

/** A send whose batches the test finishes by hand. */
function manualSend() {
  const batches: { items: number[]; finish(results: string[]): void; fail(error: Error): void }[] = []
  const send = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push({ items, finish: resolve, fail: reject })
    })
  return { batches, send }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('group commit', () => {
  it('sends what arrives in one tick as one batch, and answers each item with its own result', async () => {
    const commit = new GroupCommit((items: number[]) => Promise.resolve(items.map((i) => `r${i}`)))
    await expect(Promise.all([1, 2, 3].map((i) => commit.add(i)))).resolves.toEqual(['r1', 'r2', 'r3'])
    expect(commit.batches).toBe(1)
  })

  it('holds what arrives while a batch is in flight for the next one, in arrival order', async () => {
    const { batches, send } = manualSend()
    const commit = new GroupCommit(send)
    const first = commit.add(1)
    await tick()
    const later = [commit.add(2), commit.add(3)]
    await tick()
    expect(batches.map((b) => b.items)).toEqual([[1]]) // nothing else goes while one is in flight
    batches[0]?.finish(['a'])
    await expect(first).resolves.toBe('a')
    await tick()
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3]])
    batches[1]?.finish(['b', 'c'])
    await expect(Promise.all(later)).resolves.toEqual(['b', 'c'])
    // idle again: the next item goes out on its own
    const alone = commit.add(4)
    await tick()
    batches[2]?.finish(['d'])
    await expect(alone).resolves.toBe('d')
    expect(commit.batches).toBe(3)
  })

  it('fails every item of a failed batch with its error, and carries on with the next', async () => {
    const { batches, send } = manualSend()
    const commit = new GroupCommit(send)
    const failing = [commit.add(1), commit.add(2)]
    await tick()
    const next = commit.add(3)
    batches[0]?.fail(new Error('connection lost'))
    await expect(Promise.allSettled(failing)).resolves.toEqual([
      { status: 'rejected', reason: new Error('connection lost') },
      { status: 'rejected', reason: new Error('connection lost') },
    ])
    await tick()
    batches[1]?.finish(['ok'])
    await expect(next).resolves.toBe('ok')
  })

  it('fails the items a batch did not answer for rather than resolving them with nothing', async () => {
    const commit = new GroupCommit((items: number[]) => Promise.resolve(items.slice(1).map(String)))
    const results = await Promise.allSettled([commit.add(1), commit.add(2)])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected'])
  })
})
