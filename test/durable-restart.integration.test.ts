import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Relay } from '../src/relay/server'
import type { RTM } from '../src/sdk'
import type { DurableStore } from '../src/host/ports'
import { SqliteStore } from '../src/store/sqlite-store'
import { HeldCommitStore } from './held-commit-store'
import { aliceToBobOnStage, Capture, client, relayForTest, spread } from './helpers'
import { reconnected } from './relay-control'

// Spread: tests the SQLite store in DATA_DIR across a restart; in scaled mode the state lives in Redis (the cluster fault tests restart that).
describe.skipIf(spread)('a relay restart with the SQLite store in DATA_DIR', () => {
  let dataDir: string
  let relay: Relay | null = null
  const clients: RTM[] = []

  beforeEach(() => { dataDir = mkdtempSync(joinPath(tmpdir(), 'relay-data-')) })
  afterEach(async () => {
    for (const rtm of clients.splice(0)) rtm.release()
    await relay?.close()
    relay = null
    rmSync(dataDir, { recursive: true, force: true })
  })

  const start = async (port = 0, store?: DurableStore) => {
    relay = await relayForTest({ port, store: store ?? await SqliteStore.open(dataDir) })
    return relay
  }
  const join = async (userId: string) => {
    const rtm = await client(relay!, userId)
    clients.push(rtm)
    return rtm
  }

  it('keeps channel metadata, user metadata, lock definitions and holders; revisions keep growing', async () => {
    const first = await start()
    const alice = await join('alice')
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'agenda', value: 'launch' }], { addUserId: true, addTimeStamp: true })
    await alice.storage.setChannelMetadata('stage', 'STREAM', [{ key: 'scene', value: 'intro' }])
    await alice.storage.setUserMetadata([{ key: 'mood', value: 'calm' }])
    await alice.lock.setLock('room', 'MESSAGE', 'mic', { ttl: 30 })
    await alice.lock.setLock('room', 'MESSAGE', 'pen', { ttl: 45 })
    await alice.lock.acquireLock('room', 'MESSAGE', 'mic')
    const before = await alice.storage.getChannelMetadata('room', 'MESSAGE')

    const back = reconnected(alice)
    const port = first.port
    await first.close()
    relay = null
    const second = await start(port)
    await back

    const carol = await join('carol')
    const after = await carol.storage.getChannelMetadata('room', 'MESSAGE')
    expect(after.metadata).toEqual(before.metadata)
    expect(after.majorRevision).toBe(before.majorRevision)
    expect((await carol.storage.getChannelMetadata('stage', 'STREAM')).metadata.scene.value).toBe('intro')
    expect((await carol.storage.getUserMetadata({ userId: 'alice' })).metadata.mood.value).toBe('calm')
    const locks = await carol.lock.getLock('room', 'MESSAGE')
    // Definitions and the holder survive; alice came back within the ttl, so 'mic' is still hers.
    expect([...locks.lockDetails].sort((a, b) => a.lockName.localeCompare(b.lockName)))
      .toEqual([{ lockName: 'mic', owner: 'alice', ttl: 30 }, { lockName: 'pen', owner: '', ttl: 45 }])

    // A reconnected client writes on top of what survived: revisions never go back.
    await alice.storage.updateChannelMetadata('room', 'MESSAGE', [{ key: 'agenda', value: 'landing' }])
    const updated = await carol.storage.getChannelMetadata('room', 'MESSAGE')
    expect(updated.metadata.agenda.revision).toBeGreaterThan(before.metadata.agenda.revision)
    expect(second.port).toBe(port)
  })

  it('an acknowledged write is on disk: a store opened on the same directory reads it back', async () => {
    const first = await start()
    const alice = await join('alice')
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'k', value: 'acked' }])
    // Read through a second, independent handle while the relay still runs.
    const reader = await SqliteStore.open(dataDir)
    const entries = await reader.load()
    await reader.close()
    expect(JSON.stringify(entries)).toContain('acked')
    expect(first.port).toBeGreaterThan(0)
  })
  it('after a restart, clients put back their stream channels, topics, topic subscriptions and metadata follows', async () => {
    const first = await start()
    const alice = await join('alice')
    const bob = await join('bob')
    const { atAlice } = await aliceToBobOnStage(alice, bob, 'slides', { meta: 'presenter', qos: 'ORDERED' })
    await bob.storage.subscribeUserMetadata('alice')

    const back = Promise.all([reconnected(alice), reconnected(bob)])
    const port = first.port
    await first.close()
    relay = null
    await start(port)
    const [aliceLink] = await back
    expect(aliceLink.unrestoredChannels).toEqual([])

    const messages = new Capture(bob, 'message')
    const storage = new Capture(bob, 'storage')
    await atAlice.publishTopicMessage('slides', 'after the restart')
    expect(await messages.next()).toMatchObject({ channelType: 'STREAM', topicName: 'slides', publisher: 'alice', message: 'after the restart' })
    await alice.storage.setUserMetadata([{ key: 'status', value: 'back' }])
    expect((await storage.next((e) => e.eventType === 'SET')).data.metadata.status.value).toBe('back')
  })

  it('after a restart, a subscriber back before its publisher hears the publisher once it returns, and every follow is restored', async () => {
    const first = await start()
    const alice = await join('alice')
    const bob = await join('bob')
    await aliceToBobOnStage(alice, bob, 'slides')
    // More follows than the 10 metadata calls a second allowed: following is not rate limited.
    for (let i = 0; i < 15; i++) await bob.storage.subscribeUserMetadata(`fan${i}`)
    alice.release() // gone when the relay comes back; she returns later as a new client

    const back = reconnected(bob)
    const port = first.port
    await first.close()
    relay = null
    await start(port)
    expect((await back).unrestoredChannels).toEqual([])

    const topics = new Capture(bob, 'topic')
    const messages = new Capture(bob, 'message')
    const storage = new Capture(bob, 'storage')
    const aliceAgain = await join('alice')
    const stage = aliceAgain.createStreamChannel('stage')
    await stage.join()
    await stage.joinTopic('slides')
    await topics.next((e) => e.eventType === 'REMOTE_JOIN' && e.publisher === 'alice')
    // bob subscribed again before the event reached us; one round trip of his makes sure it is done.
    await bob.presence.getUserChannels('bob')
    await stage.publishTopicMessage('slides', 'back again')
    expect(await messages.next()).toMatchObject({ channelType: 'STREAM', topicName: 'slides', publisher: 'alice', message: 'back again' })

    const fan = await join('fan14')
    await fan.storage.setUserMetadata([{ key: 'hello', value: 'bob' }])
    expect(await storage.next((e) => e.eventType === 'SET')).toMatchObject({ channelName: 'fan14', channelType: 'USER' })
  })

  it('a write whose acknowledgement was lost in a restart is answered when the client resends it, not applied twice', async () => {
    const disk = new HeldCommitStore(await SqliteStore.open(dataDir))
    const first = await start(0, disk)
    const alice = await join('alice')
    await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'plan', value: 'v1' }])
    const before = await alice.storage.getChannelMetadata('room', 'MESSAGE')

    const held = disk.holdNextCommit('durable')
    // Compare-and-set on the revision read: applied a second time, it would be refused as stale.
    const write = alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'plan', value: 'v2', revision: before.metadata.plan.revision }])
    await held.reached
    const closing = first.close() // sockets dropped and the port closed at once; the ack is never sent
    held.release()
    await closing
    relay = null
    await start(first.port)

    await write // resent with its id after the reconnect, answered from the reply stored with the write
    const after = await alice.storage.getChannelMetadata('room', 'MESSAGE')
    expect(after.metadata.plan.value).toBe('v2')
    expect(after.majorRevision).toBe(before.majorRevision + 1)
  })
})
