import bcrypt from 'bcrypt'
import { afterEach, describe, expect, it } from 'vitest'

import { hashPassword, verifyDummyPassword, verifyPassword } from './hash.js'
import { defaultHashConcurrency, passwordHashSlots, Semaphore, setPasswordHashConcurrency } from './limiter.js'

/** A task the test finishes by hand, to hold a slot as long as it likes. */
function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const tick = () => new Promise((r) => setImmediate(r))

describe('Semaphore', () => {
  it('runs at most `limit` tasks at once and queues the rest in arrival order', async () => {
    const slots = new Semaphore(2)
    const gates = [deferred(), deferred(), deferred(), deferred()]
    const started: number[] = []
    const runs = gates.map((gate, i) =>
      slots.run(async () => {
        started.push(i)
        await gate.promise
        return i
      }),
    )
    await tick()
    expect(started).toEqual([0, 1])
    expect([slots.active, slots.waiting]).toEqual([2, 2])
    gates[1]?.resolve()
    await tick()
    expect(started).toEqual([0, 1, 2])
    gates[0]?.resolve()
    gates[2]?.resolve()
    gates[3]?.resolve()
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3])
    expect([slots.active, slots.waiting]).toEqual([0, 0])
  })

  it('frees the slot of a task that rejects or throws synchronously, and passes the error on', async () => {
    const slots = new Semaphore(1)
    await expect(slots.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    await expect(
      slots.run(() => {
        throw new Error('sync boom')
      }),
    ).rejects.toThrow('sync boom')
    expect(slots.active).toBe(0)
    // Were a slot leaked, this would wait forever.
    await expect(slots.run(() => Promise.resolve('still works'))).resolves.toBe('still works')
  })

  it('does not deadlock: a thousand tasks through one slot all finish, failures among them', async () => {
    const slots = new Semaphore(1)
    let running = 0
    let most = 0
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) =>
        slots.run(async () => {
          running += 1
          most = Math.max(most, running)
          await tick()
          running -= 1
          if (i % 7 === 0) throw new Error(`task ${i}`)
          return i
        }),
      ),
    )
    expect(most).toBe(1)
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(143)
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(857)
    expect([slots.active, slots.waiting]).toEqual([0, 0])
  })

  it('raising the limit starts waiting tasks at once; lowering it lets running tasks finish', async () => {
    const slots = new Semaphore(1)
    const gates = [deferred(), deferred(), deferred()]
    const runs = gates.map((gate) => slots.run(() => gate.promise))
    await tick()
    expect(slots.active).toBe(1)
    slots.limit = 3
    expect([slots.active, slots.waiting]).toEqual([3, 0])
    slots.limit = 1
    expect(slots.active).toBe(3)
    for (const gate of gates) gate.resolve()
    await Promise.all(runs)
    expect(slots.active).toBe(0)
  })

  it('refuses a limit that is not a whole number of at least 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new Semaphore(bad)).toThrow(TypeError)
      expect(() => setPasswordHashConcurrency(bad)).toThrow(TypeError)
    }
  })
})

describe('Semaphore: priorities and the wait bound', () => {
  /** @see issue 16, item 4: forty registrations queued ahead of a login pushed it from 0.26 s to 9.9 s */
  it('attack: a login (high) starts before every queued registration (low), whatever their order', async () => {
    const slots = new Semaphore(1)
    const gate = deferred()
    const started: string[] = []
    const job = (name: string, priority: 'high' | 'low') =>
      slots.run(
        async () => {
          started.push(name)
          if (name === 'running') await gate.promise
        },
        { priority },
      )
    const runs = [job('running', 'low'), job('reg1', 'low'), job('reg2', 'low'), job('login1', 'high')]
    runs.push(job('reg3', 'low'), job('login2', 'high'))
    await tick()
    expect(started).toEqual(['running'])
    gate.resolve()
    await Promise.all(runs)
    // a login waits only for the hash already running, never for queued registrations
    expect(started).toEqual(['running', 'login1', 'login2', 'reg1', 'reg2', 'reg3'])
  })

  it('refuses at once, with the wait it foresees, a task that would wait past its bound', async () => {
    let clock = 0
    const slots = new Semaphore(2, { now: () => clock })
    // Teach it that a task takes 100 ms.
    await slots.run(() => {
      clock += 100
      return Promise.resolve()
    })
    const gates = [deferred(), deferred()]
    const held = gates.map((gate) => slots.run(() => gate.promise, { priority: 'low' }))
    // two running, none waiting: the next starts after about one task (100 ms)
    const queued = [slots.run(() => Promise.resolve('a'), { priority: 'low', maxWaitMs: 150 })]
    queued.push(slots.run(() => Promise.resolve('b'), { priority: 'low', maxWaitMs: 150 }))
    // a third waiter would start after two tasks' time (200 ms): past its bound, refused now
    const refused = slots.run(() => Promise.resolve('c'), { priority: 'low', maxWaitMs: 150 })
    await expect(refused).rejects.toMatchObject({ name: 'QueueFullError', waitMs: 200, retryAfterSeconds: 1 })
    // a login is not behind the queued registrations: its wait is one task, within the bound
    const login = slots.run(() => Promise.resolve('login'), { priority: 'high', maxWaitMs: 150 })
    expect(slots.waiting).toBe(3)
    for (const gate of gates) gate.resolve()
    expect(await Promise.all([login, ...queued, ...held])).toEqual(['login', 'a', 'b', undefined, undefined])
  })

  it('admits anything while it has no measure of a task yet, and never refuses with a free slot', async () => {
    const slots = new Semaphore(1)
    const gate = deferred()
    const held = slots.run(() => gate.promise)
    const waiter = slots.run(() => Promise.resolve(1), { maxWaitMs: 0 })
    gate.resolve()
    await expect(waiter).resolves.toBe(1)
    await held
    await expect(slots.run(() => Promise.resolve(2), { maxWaitMs: 0 })).resolves.toBe(2)
  })
})

describe('defaultHashConcurrency', () => {
  it('uses the cores it may, and always leaves one pool thread free when there is more than one', () => {
    expect(defaultHashConcurrency({ cores: 2, threadpoolSize: 4 })).toBe(2)
    expect(defaultHashConcurrency({ cores: 16, threadpoolSize: 4 })).toBe(3)
    expect(defaultHashConcurrency({ cores: 1, threadpoolSize: 4 })).toBe(1)
    expect(defaultHashConcurrency({ cores: 8, threadpoolSize: 2 })).toBe(1)
    expect(defaultHashConcurrency({ cores: 8, threadpoolSize: 1 })).toBe(1)
  })
})

describe('password hashing through the slots', () => {
  const before = passwordHashSlots.limit
  afterEach(() => setPasswordHashConcurrency(before))

  it('never runs more hashes and checks at once than the limit, and every caller gets its answer', async () => {
    setPasswordHashConcurrency(2)
    const encoded = await hashPassword('correct horse', { cost: 4 })
    let most = 0
    const watch = setInterval(() => (most = Math.max(most, passwordHashSlots.active)), 0)
    try {
      const results = await Promise.all([
        ...Array.from({ length: 6 }, () => verifyPassword('correct horse', encoded, { cost: 4 })),
        ...Array.from({ length: 4 }, () => verifyPassword('wrong horse', encoded, { cost: 4 })),
        ...Array.from({ length: 3 }, () => hashPassword('another', { cost: 4 })),
        verifyDummyPassword('whoever', { cost: 4 }),
      ])
      expect(results.slice(0, 6).every((r) => typeof r === 'object' && r.valid)).toBe(true)
      expect(results.slice(6, 10).every((r) => typeof r === 'object' && !r.valid)).toBe(true)
      expect(results.at(-1)).toBe(false)
    } finally {
      clearInterval(watch)
    }
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(2)
    expect(passwordHashSlots.active).toBe(0)
  })

  it('leaves a thread of the pool free during a storm: a crypto job overtakes the queued hashes', async () => {
    const encoded = await hashPassword('storm', { cost: 10 })
    setPasswordHashConcurrency(1)
    let hashed = 0
    // Twenty checks (one pool job each) queued ahead of the crypto job: without the cap they would
    // fill libuv's FIFO queue and the job would run only after about sixteen of them.
    const storm = Array.from({ length: 20 }, () =>
      verifyPassword('storm', encoded, { cost: 10 }).then(() => (hashed += 1)),
    )
    await tick()
    const key = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    await crypto.subtle.sign('HMAC', key, new Uint8Array(32))
    const hashedWhenSigned = hashed
    await Promise.all(storm)
    expect(hashedWhenSigned).toBeLessThan(5)
  }, 60_000)

  it('frees its slot when bcrypt fails', async () => {
    setPasswordHashConcurrency(1)
    // bcrypt rejects a call without data.
    await expect(passwordHashSlots.run(() => bcrypt.hash(undefined as unknown as string, 4))).rejects.toThrow()
    expect(passwordHashSlots.active).toBe(0)
    await expect(hashPassword('after', { cost: 4 })).resolves.toMatch(/^bcrypt_sha256\$/)
  })
})
