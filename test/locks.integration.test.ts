import { describe, expect, it } from 'vitest'
import { Capture, relayPerTest } from './helpers'
import { dropSocketOf, expectCode, reconnected } from './relay-control'

describe('locks through the SDK on a real relay', () => {
  const world = relayPerTest()
  const join = world.join

  it('set, acquire, release and remove, seen by a subscriber withLock as SET, ACQUIRED, RELEASED, REMOVED', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const events = new Capture(bob, 'lock')
    await bob.subscribe('room', { withLock: true })
    await alice.lock.setLock('room', 'MESSAGE', 'mic', { ttl: 30 })
    expect(await events.next((e) => e.eventType === 'SET')).toMatchObject({ channelName: 'room', channelType: 'MESSAGE', lockName: 'mic', ttl: 30 })
    await alice.lock.acquireLock('room', 'MESSAGE', 'mic')
    expect(await events.next((e) => e.eventType === 'ACQUIRED')).toMatchObject({ lockName: 'mic', owner: 'alice' })
    expect(await bob.lock.getLock('room', 'MESSAGE')).toMatchObject({ totalLocks: 1, lockDetails: [{ lockName: 'mic', owner: 'alice', ttl: 30 }] })
    await alice.lock.releaseLock('room', 'MESSAGE', 'mic')
    await events.next((e) => e.eventType === 'RELEASED' && e.lockName === 'mic')
    await alice.lock.removeLock('room', 'MESSAGE', 'mic')
    await events.next((e) => e.eventType === 'REMOVED' && e.lockName === 'mic')
    expect((await bob.lock.getLock('room', 'MESSAGE')).totalLocks).toBe(0)
  })

  it('a new subscriber withLock gets a SNAPSHOT of the locks', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    await alice.lock.setLock('room', 'MESSAGE', 'a', { ttl: 10 })
    await alice.lock.acquireLock('room', 'MESSAGE', 'a')
    const events = new Capture(bob, 'lock')
    await bob.subscribe('room', { withLock: true })
    const snapshot = await events.next((e) => e.eventType === 'SNAPSHOT')
    expect(snapshot.snapshot).toEqual([{ lockName: 'a', owner: 'alice', ttl: 10 }])
  })

  it('ttl outside [10, 300] s is refused with the code and nothing is created', async () => {
    const alice = await join('alice')
    await expectCode(alice.lock.setLock('room', 'MESSAGE', 'x', { ttl: 9 }), -10014)
    await expectCode(alice.lock.setLock('room', 'MESSAGE', 'x', { ttl: 301 }), -10014)
    expect((await alice.lock.getLock('room', 'MESSAGE')).totalLocks).toBe(0)
  })

  it('acquiring a held lock without retry fails at once; a missing lock is -14008', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    await alice.lock.setLock('room', 'MESSAGE', 'mic', { ttl: 10 })
    await alice.lock.acquireLock('room', 'MESSAGE', 'mic')
    await expectCode(bob.lock.acquireLock('room', 'MESSAGE', 'mic'), -14007)
    await expectCode(bob.lock.acquireLock('room', 'MESSAGE', 'nope'), -14008)
    await expectCode(bob.lock.releaseLock('room', 'MESSAGE', 'mic'), -14006)
  })

  it('with retry, a waiter gets the lock as soon as the owner releases it', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    await alice.lock.setLock('room', 'MESSAGE', 'mic', { ttl: 10 })
    await alice.lock.acquireLock('room', 'MESSAGE', 'mic')
    let granted = false
    const waiting = bob.lock.acquireLock('room', 'MESSAGE', 'mic', { retry: true }).then((result) => { granted = true; return result })
    // The waiter is in line: the owner is still alice until she lets go.
    expect((await alice.lock.getLock('room', 'MESSAGE')).lockDetails[0].owner).toBe('alice')
    expect(granted).toBe(false)
    await alice.lock.releaseLock('room', 'MESSAGE', 'mic')
    await waiting
    expect((await alice.lock.getLock('room', 'MESSAGE')).lockDetails[0].owner).toBe('bob')
  })

  it('revokeLock takes the lock from its owner (RELEASED) and the next waiter gets it', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const carol = await join('carol')
    const events = new Capture(carol, 'lock')
    await carol.subscribe('room', { withLock: true })
    await alice.lock.setLock('room', 'MESSAGE', 'mic', { ttl: 10 })
    await alice.lock.acquireLock('room', 'MESSAGE', 'mic')
    const waiting = bob.lock.acquireLock('room', 'MESSAGE', 'mic', { retry: true })
    await expectCode(carol.lock.revokeLock('room', 'MESSAGE', 'mic', 'dave'), -14006)
    await carol.lock.revokeLock('room', 'MESSAGE', 'mic', 'alice')
    await events.next((e) => e.eventType === 'RELEASED')
    await waiting
    expect(await events.next((e) => e.eventType === 'ACQUIRED' && e.owner === 'bob')).toMatchObject({ lockName: 'mic' })
  })

  it('a waiter whose socket drops stays in line and still gets the lock', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    await alice.lock.setLock('room', 'MESSAGE', 'mic', { ttl: 10 })
    await alice.lock.acquireLock('room', 'MESSAGE', 'mic')
    const waiting = bob.lock.acquireLock('room', 'MESSAGE', 'mic', { retry: true })
    const back = reconnected(bob)
    // A later request on bob's socket is answered after the wait was taken in: he is in line now.
    await bob.lock.getLock('room', 'MESSAGE')
    expect(dropSocketOf(world.relay, 'bob')).toBe(1)
    await back
    await alice.lock.releaseLock('room', 'MESSAGE', 'mic')
    await waiting
    expect((await alice.lock.getLock('room', 'MESSAGE')).lockDetails[0].owner).toBe('bob')
  })

  it('an owner who goes offline keeps the lock for its ttl, then it expires and the waiter gets it', async () => {
    const alice = await join('alice', { presenceTimeout: 5 })
    const bob = await join('bob')
    const events = new Capture(bob, 'lock')
    await bob.subscribe('room', { withLock: true })
    await alice.lock.setLock('room', 'MESSAGE', 'mic', { ttl: 10 })
    await alice.lock.acquireLock('room', 'MESSAGE', 'mic')
    const waiting = bob.lock.acquireLock('room', 'MESSAGE', 'mic', { retry: true })
    const offlineAt = Date.now()
    alice.release() // the tab is gone: no logout, no release
    await waiting
    const waited = Date.now() - offlineAt
    expect(waited).toBeGreaterThanOrEqual(10_000)
    expect(events.seen.map((e) => e.eventType)).toContain('EXPIRED')
    expect((await bob.lock.getLock('room', 'MESSAGE')).lockDetails[0].owner).toBe('bob')
  }, 40_000)
})
