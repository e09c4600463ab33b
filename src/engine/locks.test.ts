import { describe, expect, it } from 'vitest'
import { MAX_LOCKS_PER_CHANNEL } from './locks'
import { TestWorld } from './test-world'

const target = (lockName = 'mic', channelName = 'room', channelType: 1 | 2 | 3 = 1) => ({ channelName, channelType, lockName })
const setLock = (ttl?: number, lockName = 'mic', channelName = 'room', channelType: 1 | 2 | 3 = 1) =>
  ({ op: 'setLock' as const, args: { ...target(lockName, channelName, channelType), ttl } })
const acquire = (retry = false, lockName = 'mic') => ({ op: 'acquireLock' as const, args: { ...target(lockName), retry } })
const release = (lockName = 'mic') => ({ op: 'releaseLock' as const, args: target(lockName) })
const revoke = (owner: string) => ({ op: 'revokeLock' as const, args: { ...target(), owner } })
const removeLock = () => ({ op: 'removeLock' as const, args: target() })
const getLock = () => ({ op: 'getLock' as const, args: { channelName: 'room', channelType: 1 as const } })

/** alice, bob and carol; carol watches the room withLock. */
function world() {
  const w = new TestWorld()
  w.login('a', 'alice', { presenceTimeout: 5 })
  w.login('b', 'bob')
  w.login('c', 'carol')
  w.ok('c', { op: 'subscribe', args: { channelName: 'room', withLock: true } })
  w.clear()
  return w
}
const owner = (w: TestWorld) => (w.ok('c', getLock()).lockDetails as { owner: string }[])[0]?.owner
const lockEvents = (w: TestWorld) => w.events('c', 'lock').map((e) => [e.eventType, e.lockName, e.owner])

describe('locks', () => {
  it('set, acquire, release, remove: SET, ACQUIRED, RELEASED, REMOVED to members withLock', () => {
    const w = world()
    w.ok('a', setLock(30))
    w.ok('a', acquire())
    expect(w.ok('b', getLock())).toEqual({ channelName: 'room', channelType: 1, totalLocks: 1, lockDetails: [{ lockName: 'mic', owner: 'alice', ttl: 30 }] })
    w.ok('a', release())
    w.ok('a', removeLock())
    expect(lockEvents(w)).toEqual([[2, 'mic', ''], [4, 'mic', 'alice'], [5, 'mic', ''], [3, 'mic', '']])
    expect(w.events('c', 'lock')[0]).toMatchObject({ kind: 'lock', channelType: 1, channelName: 'room', ttl: 30, publisher: 'alice', snapshot: [] })
    expect(w.ok('c', getLock()).totalLocks).toBe(0)
    expect(w.events('b', 'lock')).toEqual([])
  })

  it('subscribing or joining withLock gives a SNAPSHOT', () => {
    const w = world()
    w.ok('a', setLock(10, 'a'))
    w.ok('a', acquire(false, 'a'))
    w.ok('b', { op: 'subscribe', args: { channelName: 'room', withLock: true } })
    expect(w.events('b', 'lock')).toEqual([expect.objectContaining({ eventType: 1, snapshot: [{ lockName: 'a', owner: 'alice', ttl: 10 }] })])
    w.ok('a', setLock(10, 's', 'stage', 2))
    w.ok('b', { op: 'joinStream', args: { channelName: 'stage', withLock: true } })
    expect(w.events('b', 'lock').at(-1)).toMatchObject({ eventType: 1, channelType: 2, channelName: 'stage', snapshot: [{ lockName: 's', owner: '', ttl: 10 }] })
  })

  it('ttl outside [10, 300] s or missing is -10014 and nothing is created; a second setLock is -14004', () => {
    const w = world()
    for (const ttl of [9, 301, 10.5, undefined]) expect(w.code('a', setLock(ttl))).toBe(-10014)
    expect(w.ok('a', getLock()).totalLocks).toBe(0)
    w.ok('a', setLock(10))
    w.ok('a', setLock(300, 'long'))
    expect(w.code('b', setLock(20))).toBe(-14004)
  })

  it('names and types: bad lock name -14005, bad channel -10008, USER channel -10019', () => {
    const w = world()
    expect(w.code('a', setLock(10, ''))).toBe(-14005)
    expect(w.code('a', setLock(10, 'mic', ''))).toBe(-10008)
    expect(w.code('a', setLock(10, 'mic', 'room', 3))).toBe(-10019)
  })

  it(`at most ${MAX_LOCKS_PER_CHANNEL} locks per channel (-14001)`, () => {
    const w = world()
    for (let i = 0; i < MAX_LOCKS_PER_CHANNEL; i++) w.ok('a', setLock(10, `l${i}`))
    expect(w.code('a', setLock(10, 'one-more'))).toBe(-14001)
  })

  it('a held lock without retry is -14007; a missing lock -14008; releasing what you do not hold -14006', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    w.ok('a', acquire())
    expect(w.code('b', acquire())).toBe(-14007)
    expect(w.code('b', acquire(false, 'nope'))).toBe(-14008)
    expect(w.code('b', release())).toBe(-14006)
    expect(w.code('b', release('nope'))).toBe(-14008)
  })

  it('with retry the request waits; it is answered when the owner releases, and the waiter owns the lock', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    expect(w.send('b', acquire(true), 977)).toBeNull()
    expect(owner(w)).toBe('alice')
    w.ok('a', release())
    expect(w.lateReplies.get('b')?.get(977)).toMatchObject({ ok: true, result: { lockName: 'mic' } })
    expect(owner(w)).toBe('bob')
    expect(lockEvents(w).slice(-2)).toEqual([[5, 'mic', ''], [4, 'mic', 'bob']])
  })

  it('a resent waiting request is not queued twice, and a resend after the grant gets the grant', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    expect(w.send('b', acquire(true), 905)).toBeNull()
    w.drop('b')
    w.resume('b2', 'bob')
    expect(w.send('b2', acquire(true), 905)).toBeNull()
    w.ok('a', release())
    expect(w.lateReplies.get('b2')?.get(905)).toMatchObject({ ok: true })
    expect(w.send('b2', acquire(true), 905)).toMatchObject({ ok: true })
    w.ok('b2', release())
    expect(owner(w)).toBe('')
  })

  it('waiters are served first come, first served', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    w.send('b', acquire(true))
    w.send('c', acquire(true))
    w.ok('a', release())
    expect(owner(w)).toBe('bob')
    w.ok('b', release())
    expect(owner(w)).toBe('carol')
  })

  it('revokeLock takes the lock from its owner (RELEASED) and the next waiter gets it; a wrong owner is -14006', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    w.send('b', acquire(true), 909)
    expect(w.code('c', revoke('dave'))).toBe(-14006)
    w.ok('c', revoke('alice'))
    expect(lockEvents(w).slice(-2)).toEqual([[5, 'mic', ''], [4, 'mic', 'bob']])
    expect(w.events('c', 'lock').at(-2)?.publisher).toBe('carol')
    expect(w.lateReplies.get('b')?.get(909)).toMatchObject({ ok: true })
  })

  it('removing a lock ends the wait with -14009', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    w.send('b', acquire(true), 903)
    w.ok('a', removeLock())
    expect(w.lateReplies.get('b')?.get(903)).toMatchObject({ ok: false, error: { errorCode: -14009 } })
  })

  it('leaving the channel ends the wait with -14009 (seed: "until … the user leaves the channel")', () => {
    const w = world()
    w.ok('b', { op: 'subscribe', args: { channelName: 'room' } })
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    w.send('b', acquire(true), 904)
    w.ok('b', { op: 'unsubscribe', args: { channelName: 'room' } })
    expect(w.lateReplies.get('b')?.get(904)).toMatchObject({ ok: false, error: { errorCode: -14009 } })
    w.ok('a', release())
    expect(owner(w)).toBe('')
  })

  it('an owner who goes offline keeps the lock for ttl, then EXPIRED, RELEASED and the waiter gets it', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    w.send('b', acquire(true), 906)
    w.drop('a')
    w.advance(9_999)
    expect(owner(w)).toBe('alice')
    w.advance(1)
    expect(lockEvents(w).slice(-3)).toEqual([[6, 'mic', 'alice'], [5, 'mic', ''], [4, 'mic', 'bob']])
    expect(w.lateReplies.get('b')?.get(906)).toMatchObject({ ok: true })
  })

  it('an owner who comes back within ttl keeps the lock, even on a new session', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    w.drop('a')
    w.advance(6_000) // alice's session timed out (presenceTimeout 5 s)
    w.login('a2', 'alice')
    w.advance(60_000)
    expect(owner(w)).toBe('alice')
    w.ok('a2', release())
  })

  it('logout lets go of the locks at once', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', acquire())
    w.send('b', acquire(true), 908)
    w.ok('a', { op: 'logout', args: {} })
    expect(owner(w)).toBe('bob')
  })

  it('definitions and owners are durable; after a restart an owner has ttl to come back', () => {
    const w = world()
    w.ok('a', setLock(10))
    w.ok('a', setLock(45, 'pen'))
    w.ok('a', acquire())
    const restored = new TestWorld(w.entries())
    restored.now = w.now
    restored.login('c', 'carol')
    expect(restored.ok('c', getLock()).lockDetails).toEqual([{ lockName: 'mic', owner: 'alice', ttl: 10 }, { lockName: 'pen', owner: '', ttl: 45 }])
    restored.advance(1) // the first tick starts the offline clock of owners nobody has seen since the restart
    restored.advance(9_999)
    expect(owner(restored)).toBe('alice')
    restored.advance(1)
    expect(owner(restored)).toBe('')
    expect(restored.entries().find((e) => e.key.endsWith('/mic'))?.value).toMatchObject({ owner: '' })
  })

  it('lock keys cannot collide when names contain "/"', () => {
    const w = world()
    w.ok('a', setLock(10, 'b/c', 'a'))
    w.ok('a', setLock(10, 'c', 'a/b'))
    const restored = new TestWorld(w.entries())
    expect(restored.coordinator.app('app')!.locks.snapshotAll()).toHaveLength(2)
  })
})
