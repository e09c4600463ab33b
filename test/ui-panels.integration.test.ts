import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Relay } from '../src/relay/server'
import type { RTM } from '../src/sdk'
import { LocksState } from '../src/ui/locks/locks.svelte'
import { MetadataState } from '../src/ui/metadata/metadata.svelte'
import { TopicsState } from '../src/ui/topics/topics.svelte'
import { client, relayForTest, until } from './helpers'

/** The Topics, Metadata and Locks panels' rune state against a real relay, in Node: what the components render. */
describe('issue 4 panel state over a real relay', () => {
  let relay: Relay
  const clients: RTM[] = []
  const panels: { destroy(): void }[] = []
  const join = async (userId: string, config = {}) => {
    const rtm = await client(relay, userId, config)
    clients.push(rtm)
    return rtm
  }
  const panel = <T extends { destroy(): void }>(state: T): T => {
    panels.push(state)
    return state
  }

  beforeEach(async () => { relay = await relayForTest() })
  afterEach(async () => {
    for (const state of panels.splice(0)) state.destroy()
    for (const rtm of clients.splice(0)) rtm.release()
    await relay.close()
  })

  it('metadata: rows follow another user\'s writes live; a stale edit keeps its CAS error visible', async () => {
    const alice = panel(new MetadataState(await join('alice')))
    const bob = panel(new MetadataState(await join('bob')))
    await alice.open({ kind: 'CHANNEL', channelName: 'room' })
    await bob.open({ kind: 'CHANNEL', channelName: 'room' })
    await alice.set('agenda', 'launch')
    await until(() => bob.rows.length === 1)
    expect(bob.rows[0]).toMatchObject({ key: 'agenda', value: 'launch', authorUid: 'alice' })
    expect(bob.rows[0].updated).toBeGreaterThan(0)

    const seenByAlice = alice.rows[0].revision
    await bob.set('agenda', 'landing', bob.rows[0].revision)
    expect(bob.error).toBeNull()
    await until(() => alice.rows[0].value === 'landing')
    await alice.set('agenda', 'stale', seenByAlice)
    expect(alice.error?.detail).toMatch(/^-12014 STORAGE_OUTDATED_REVISION/)
    expect(alice.error?.message).toBe('Someone changed this in the meantime.')
    // Mine beside what is stored now, to choose from.
    expect(alice.conflict).toMatchObject({ key: 'agenda', mine: 'stale', theirs: { value: 'landing', authorUid: 'bob' } })
    expect(alice.rows[0].value).toBe('landing')

    await bob.remove('agenda')
    await until(() => alice.rows.length === 0)
    expect(alice.majorRevision).toBeGreaterThan(0)
  })

  it('metadata: a user target follows that user\'s metadata', async () => {
    const aliceRtm = await join('alice')
    const bob = panel(new MetadataState(await join('bob')))
    await aliceRtm.storage.setUserMetadata([{ key: 'mood', value: 'calm' }])
    await bob.open({ kind: 'USER', userId: 'alice' })
    expect(bob.rows.map((row) => [row.key, row.value])).toEqual([['mood', 'calm']])
    await aliceRtm.storage.updateUserMetadata([{ key: 'mood', value: 'busy' }])
    await until(() => bob.rows[0]?.value === 'busy')
  })

  it('locks: owner shown to others, our wait in line listed, and the lock passed on release', async () => {
    const alice = panel(new LocksState(await join('alice')))
    const bob = panel(new LocksState(await join('bob')))
    await alice.open('studio')
    await bob.open('studio')
    await alice.setLock('mic', 10)
    await alice.acquire('mic', false)
    await until(() => bob.locks[0]?.owner === 'alice')

    const waiting = bob.acquire('mic', true)
    await until(() => bob.waiting.includes('mic'))
    expect(bob.busy).toBe(false)
    await alice.release('mic')
    await waiting
    expect(bob.waiting).toEqual([])
    await until(() => alice.locks[0]?.owner === 'bob')

    await alice.acquire('mic', false)
    expect(alice.error?.detail).toMatch(/^-14007 /)
  })

  it('locks: an owner who logs out lets go at once, leaving no countdown', async () => {
    const aliceRtm = await join('alice', { presenceTimeout: 5 })
    const alice = panel(new LocksState(aliceRtm))
    const bob = panel(new LocksState(await join('bob')))
    await alice.open('studio')
    await bob.open('studio')
    await alice.setLock('mic', 10)
    await alice.acquire('mic', false)
    await until(() => bob.locks[0]?.owner === 'alice')
    expect(bob.secondsLeft(bob.locks[0])).toBeNull()
    await aliceRtm.logout().catch(() => undefined)
    // Logging out lets go of the lock at once (RELEASED), so no countdown is left behind.
    await until(() => bob.locks[0]?.owner === '')
    expect(bob.secondsLeft(bob.locks[0])).toBeNull()
  })

  it('locks: an owner whose tab dies gets a countdown of at most the ttl, then the lock is free', async () => {
    const aliceRtm = await join('alice', { presenceTimeout: 5 })
    const alice = panel(new LocksState(aliceRtm))
    const bob = panel(new LocksState(await join('bob')))
    await alice.open('studio')
    await bob.open('studio')
    await alice.setLock('mic', 10)
    await alice.acquire('mic', false)
    await until(() => bob.locks[0]?.owner === 'alice')
    aliceRtm.release() // no logout: the coordinator only sees the connection go
    await until(() => bob.secondsLeft(bob.locks[0]) !== null, 15_000)
    const left = bob.secondsLeft(bob.locks[0])!
    expect(left).toBeGreaterThan(0)
    expect(left).toBeLessThanOrEqual(10)
    await until(() => bob.locks[0]?.owner === '', 15_000)
    expect(bob.secondsLeft(bob.locks[0])).toBeNull()
  }, 30_000)

  it('topics: publishers with meta, picked subscriptions and a live feed', async () => {
    const pia = panel(new TopicsState(await join('pia')))
    const vic = panel(new TopicsState(await join('vic')))
    await pia.join('stage')
    await vic.join('stage')
    await pia.joinTopic('slides', 'laptop', 'ORDERED')
    expect(pia.error).toBeNull()
    await until(() => vic.publishersOf('slides').length === 1)
    expect(vic.publishersOf('slides')).toEqual([{ publisherUserId: 'pia', publisherMeta: 'laptop' }])
    await vic.subscribe('slides', ['pia', 'ghost'])
    expect(vic.subscribedTo('slides')).toEqual(['pia'])
    expect(vic.error).toEqual({ message: 'Could not follow ghost.', action: 'They may have stopped publishing here.' })

    await pia.publish('slides', 'slide 1')
    await pia.publish('slides', 'slide 2')
    await until(() => vic.feedOf('slides').length === 2)
    expect(vic.feedOf('slides').map((entry) => [entry.publisher, entry.publisherMeta, entry.text])).toEqual([['pia', 'laptop', 'slide 1'], ['pia', 'laptop', 'slide 2']])
    // The publisher sees its own accepted messages in its feed too.
    expect(pia.feedOf('slides').map((entry) => [entry.publisher, entry.text])).toEqual([['pia', 'slide 1'], ['pia', 'slide 2']])

    await pia.leaveTopic('slides')
    await until(() => vic.publishersOf('slides').length === 0)
    await pia.publish('slides', 'after leaving')
    expect(pia.error?.detail).toMatch(/^-11016 /)
  })
})
