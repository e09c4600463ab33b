import { describe, expect, it } from 'vitest'
import { Capture, relayPerTest } from './helpers'
import { expectCode } from './relay-control'

describe('storage through the SDK on a real relay', () => {
  const world = relayPerTest()
  const join = world.join

  it('channel metadata: set, get with revision, author and time, then update and remove', async () => {
    const alice = await join('alice')
    const before = Date.now()
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'topic', value: 'launch' }, { key: 'color', value: 'red' }], { addTimeStamp: true, addUserId: true })
    const got = await alice.storage.getChannelMetadata('room', 'MESSAGE')
    expect(got).toMatchObject({ channelName: 'room', channelType: 'MESSAGE', totalCount: 2 })
    expect(got.metadata.topic).toMatchObject({ value: 'launch', authorUid: 'alice' })
    expect(got.metadata.topic.revision).toBeGreaterThan(0)
    expect(got.metadata.topic.updated).toBeGreaterThanOrEqual(before)

    await alice.storage.updateChannelMetadata('room', 'MESSAGE', [{ key: 'topic', value: 'landing' }])
    const updated = await alice.storage.getChannelMetadata('room', 'MESSAGE')
    expect(updated.metadata.topic.value).toBe('landing')
    expect(updated.metadata.topic.revision).toBeGreaterThan(got.metadata.topic.revision)
    expect(updated.majorRevision).toBeGreaterThan(got.majorRevision)

    await alice.storage.removeChannelMetadata('room', 'MESSAGE', { data: [{ key: 'color' }] })
    expect(Object.keys((await alice.storage.getChannelMetadata('room', 'MESSAGE')).metadata)).toEqual(['topic'])
    await alice.storage.removeChannelMetadata('room', 'MESSAGE')
    expect((await alice.storage.getChannelMetadata('room', 'MESSAGE')).totalCount).toBe(0)
  })

  it('a write with a stale item revision is refused with -12014 and changes nothing', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'doc', value: 'v1' }])
    const seen = (await bob.storage.getChannelMetadata('room', 'MESSAGE')).metadata.doc.revision
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'doc', value: 'v2', revision: seen }])
    await expectCode(bob.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'doc', value: 'bob', revision: seen }]), -12014)
    expect((await bob.storage.getChannelMetadata('room', 'MESSAGE')).metadata.doc.value).toBe('v2')
  })

  it('a write with a stale majorRevision is refused with -12014; the current one succeeds', async () => {
    const alice = await join('alice')
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'a', value: '1' }])
    const { majorRevision } = await alice.storage.getChannelMetadata('room', 'MESSAGE')
    await expectCode(alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'b', value: '2' }], { majorRevision: majorRevision + 5 }), -12014)
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'b', value: '2' }], { majorRevision })
    expect((await alice.storage.getChannelMetadata('room', 'MESSAGE')).totalCount).toBe(2)
  })

  it('subscribers withMetadata get SNAPSHOT, SET, UPDATE and REMOVE storage events', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const events = new Capture(bob, 'storage')
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'a', value: '1' }])
    await bob.subscribe('room', { withMetadata: true })
    const snapshot = await events.next((e) => e.eventType === 'SNAPSHOT')
    expect(snapshot).toMatchObject({ channelName: 'room', channelType: 'MESSAGE', storageType: 'CHANNEL' })
    expect(snapshot.data.metadata.a.value).toBe('1')

    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'b', value: '2' }], { addUserId: true })
    const set = await events.next((e) => e.eventType === 'SET')
    expect(set.data.metadata.b).toMatchObject({ value: '2', authorUid: 'alice' })
    await alice.storage.updateChannelMetadata('room', 'MESSAGE', [{ key: 'b', value: '3' }])
    expect((await events.next((e) => e.eventType === 'UPDATE')).data.metadata.b.value).toBe('3')
    await alice.storage.removeChannelMetadata('room', 'MESSAGE', { data: [{ key: 'a' }] })
    await events.next((e) => e.eventType === 'REMOVE')
  })

  it('user metadata: set and get our own, follow another user, stop following', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    await alice.storage.setUserMetadata([{ key: 'mood', value: 'happy' }], { addUserId: true })
    expect((await bob.storage.getUserMetadata({ userId: 'alice' })).metadata.mood).toMatchObject({ value: 'happy', authorUid: 'alice' })
    expect((await alice.storage.getUserMetadata()).metadata.mood.value).toBe('happy')

    const events = new Capture(bob, 'storage')
    await bob.storage.subscribeUserMetadata('alice')
    const snapshot = await events.next((e) => e.eventType === 'SNAPSHOT')
    expect(snapshot).toMatchObject({ storageType: 'USER', channelName: 'alice' })
    await alice.storage.updateUserMetadata([{ key: 'mood', value: 'busy' }])
    expect((await events.next((e) => e.eventType === 'UPDATE')).data.metadata.mood.value).toBe('busy')

    await bob.storage.unsubscribeUserMetadata('alice')
    await alice.storage.setUserMetadata([{ key: 'after', value: 'x' }])
    await alice.storage.removeUserMetadata({ data: [{ key: 'after' }] })
    // Events reach bob in coordinator order: a SET or REMOVE for those writes would precede this SNAPSHOT.
    await bob.storage.subscribeUserMetadata('alice')
    await events.next((e) => e.eventType === 'SNAPSHOT' && e !== snapshot)
    expect(events.seen.filter((e) => e.eventType === 'SET' || e.eventType === 'REMOVE')).toEqual([])
  })

  it('writes guarded by a lock need the lock: -12008 until acquired', async () => {
    const alice = await join('alice')
    await alice.lock.setLock('room', 'MESSAGE', 'editor', { ttl: 10 })
    await expectCode(alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'a', value: '1' }], { lockName: 'editor' }), -12008)
    await alice.lock.acquireLock('room', 'MESSAGE', 'editor')
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'a', value: '1' }], { lockName: 'editor' })
    expect((await alice.storage.getChannelMetadata('room', 'MESSAGE')).metadata.a.value).toBe('1')
  })

  it('stream channel metadata is kept apart from the message channel of the same name', async () => {
    const alice = await join('alice')
    await alice.storage.setChannelMetadata('same', 'STREAM', [{ key: 'k', value: 'stream' }])
    await alice.storage.setChannelMetadata('same', 'MESSAGE', [{ key: 'k', value: 'message' }])
    expect((await alice.storage.getChannelMetadata('same', 'STREAM')).metadata.k.value).toBe('stream')
    expect((await alice.storage.getChannelMetadata('same', 'MESSAGE')).metadata.k.value).toBe('message')
  })
  it('limits and bad input get the seed\'s codes and write nothing', async () => {
    const alice = await join('alice')
    const write = (items: { key: string; value?: string; revision?: number }[]) => alice.storage.setChannelMetadata('limits', 'MESSAGE', items)
    await expectCode(write([{ key: 'k'.repeat(65), value: 'v' }]), -12011)
    await expectCode(write([{ key: 'big', value: 'v'.repeat(8 * 1024 + 1) }]), -12012)
    await expectCode(write([{ key: '', value: 'v' }]), -12009)
    await expectCode(write([{ key: 'twice', value: '1' }, { key: 'twice', value: '2' }]), -12013)
    await expectCode(write([{ key: 'ghost', value: 'v', revision: 7 }]), -12003)
    await expectCode(alice.storage.updateChannelMetadata('limits', 'MESSAGE', [{ key: 'a', value: 'v' }]), -12016)
    await expectCode(alice.storage.setChannelMetadata('limits', 'USER', [{ key: 'a', value: 'v' }]), -10019)
    expect((await alice.storage.getChannelMetadata('limits', 'MESSAGE')).totalCount).toBe(0)
  })

  it('revision 0 writes only an item that does not exist yet', async () => {
    const alice = await join('alice')
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'seat', value: 'alice', revision: 0 }])
    await expectCode(alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'seat', value: 'bob', revision: 0 }]), -12014)
    expect((await alice.storage.getChannelMetadata('room', 'MESSAGE')).metadata.seat.value).toBe('alice')
  })

  it('more than 10 storage calls in a second are refused with -10021', async () => {
    const alice = await join('alice')
    const calls = Array.from({ length: 12 }, () => alice.storage.getChannelMetadata('busy', 'MESSAGE').then(() => 'ok', (error: { errorCode: number }) => error.errorCode))
    const outcomes = await Promise.all(calls)
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(10)
    expect(outcomes.filter((outcome) => outcome === -10021)).toHaveLength(2)
  })
})
