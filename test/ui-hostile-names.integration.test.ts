import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Relay } from '../src/relay/server'
import type { RTM } from '../src/sdk'
import { LocksState } from '../src/ui/locks/locks.svelte'
import { MetadataState } from '../src/ui/metadata/metadata.svelte'
import { PresenceState } from '../src/ui/state/presence.svelte'
import { TopicsState } from '../src/ui/topics/topics.svelte'
import { client, relayForTest, until } from './helpers'

/**
 * Names are any printable ASCII, so `__proto__` and `constructor` are ordinary user,
 * channel, lock, topic and metadata key names. The panels' state keeps them in Maps; in a
 * plain object `__proto__` vanishes (it sets the prototype) and `constructor` is found on
 * every object. Real relay, real SDK, the UI's rune classes in Node.
 */
const HOSTILE = ['__proto__', 'constructor'] as const

describe('names that are also Object.prototype keys show in the panels', () => {
  let relay: Relay
  const clients: RTM[] = []
  const panels: { destroy(): void }[] = []
  const join = async (userId: string) => {
    const rtm = await client(relay, userId)
    clients.push(rtm)
    return rtm
  }
  const panel = <T extends { destroy(): void }>(state: T): T => {
    panels.push(state)
    return state
  }

  beforeEach(async () => { relay = await relayForTest({ engine: { intervalThreshold: 3, intervalMs: 200 } }) })
  afterEach(async () => {
    for (const state of panels.splice(0)) state.destroy()
    for (const rtm of clients.splice(0)) rtm.release()
    await relay.close()
  })

  it('People: users named __proto__ and constructor are online, with their status, and leave again', async () => {
    const watcherRtm = await join('watcher')
    const watcher = panel(new PresenceState(watcherRtm))
    await watcherRtm.subscribe('lobby', { withPresence: true })
    await until(() => watcher.occupants('lobby').length === 1)
    // Before they come, neither name is "online" just because every object has a constructor.
    expect(HOSTILE.map((name) => watcher.isOnline(name))).toEqual([false, false])

    const hostile = await Promise.all(HOSTILE.map((name) => join(name)))
    for (const rtm of hostile) await rtm.subscribe('lobby', { withPresence: true })
    await hostile[0].presence.setState('lobby', 'MESSAGE', { status: 'here' })
    await until(() => watcher.occupants('lobby').length === 3)
    expect(watcher.occupants('lobby').map((person) => person.userId)).toEqual(['watcher', '__proto__', 'constructor'])
    await until(() => watcher.occupants('lobby').find((person) => person.userId === '__proto__')?.states.status === 'here')
    expect(watcher.others).toEqual(['__proto__', 'constructor'])
    expect(HOSTILE.map((name) => watcher.isOnline(name))).toEqual([true, true])

    for (const rtm of hostile) await rtm.unsubscribe('lobby')
    await until(() => watcher.occupants('lobby').length === 1)
    expect(HOSTILE.map((name) => watcher.isOnline(name))).toEqual([false, false])
  })

  it('People: above the INTERVAL threshold they are kept from interval events too, also in a channel named __proto__', async () => {
    const watcherRtm = await join('watcher')
    const watcher = panel(new PresenceState(watcherRtm))
    await watcherRtm.subscribe('__proto__', { withPresence: true })
    for (const name of ['u1', 'u2', ...HOSTILE]) await (await join(name)).subscribe('__proto__', { withPresence: true })
    await until(() => watcher.occupants('__proto__').length === 5)
    expect(watcher.occupants('__proto__').map((person) => person.userId)).toEqual(['watcher', '__proto__', 'constructor', 'u1', 'u2'])
    expect(watcher.occupants('constructor')).toEqual([])
  })

  it('Locks: locks named __proto__ and constructor are listed with their owner', async () => {
    const owner = panel(new LocksState(await join('__proto__')))
    const watcher = panel(new LocksState(await join('constructor')))
    await owner.open('studio')
    await watcher.open('studio')
    for (const lockName of HOSTILE) await owner.setLock(lockName, 10)
    await owner.acquire('__proto__', false)
    expect(owner.error).toBeNull()
    await until(() => watcher.locks.find((lock) => lock.lockName === '__proto__')?.owner === '__proto__')
    expect(watcher.locks.map((lock) => [lock.lockName, lock.owner])).toEqual([['__proto__', '__proto__'], ['constructor', '']])
    // Opened afterwards, the panel loads the same rows.
    const late = panel(new LocksState(await join('late')))
    await late.open('studio')
    expect(late.locks.map((lock) => [lock.lockName, lock.owner])).toEqual([['__proto__', '__proto__'], ['constructor', '']])
  })

  it('Topics: topics named __proto__ and constructor list their publishers and feeds', async () => {
    const publisher = panel(new TopicsState(await join('__proto__')))
    const watcher = panel(new TopicsState(await join('constructor')))
    await publisher.join('stage')
    await watcher.join('stage')
    for (const topicName of HOSTILE) await publisher.joinTopic(topicName, 'meta', 'ORDERED')
    expect(publisher.error).toBeNull()
    await until(() => watcher.topicNames.length === 2)
    expect(watcher.topicNames).toEqual(['__proto__', 'constructor'])
    expect(watcher.publishersOf('constructor')).toEqual([{ publisherUserId: '__proto__', publisherMeta: 'meta' }])
    await watcher.subscribe('__proto__', ['__proto__'])
    expect(watcher.subscribedTo('__proto__')).toEqual(['__proto__'])
    await publisher.publish('__proto__', 'hello')
    await until(() => watcher.feedOf('__proto__').length === 1)
    expect(watcher.feedOf('__proto__')[0]).toMatchObject({ publisher: '__proto__', publisherMeta: 'meta', text: 'hello' })
    expect(watcher.feedOf('constructor')).toEqual([])
  })

  it('Metadata: items keyed __proto__ and constructor are rows', async () => {
    const writer = panel(new MetadataState(await join('__proto__')))
    await writer.open({ kind: 'CHANNEL', channelName: 'room' })
    for (const key of HOSTILE) await writer.set(key, `value of ${key}`)
    expect(writer.error).toBeNull()
    const reader = panel(new MetadataState(await join('constructor')))
    await reader.open({ kind: 'CHANNEL', channelName: 'room' })
    expect(reader.rows.map((row) => [row.key, row.value, row.authorUid])).toEqual([
      ['__proto__', 'value of __proto__', '__proto__'], ['constructor', 'value of constructor', '__proto__'],
    ])
  })
})
