import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { RequestFrame } from '../src/protocol/events'
import type { Relay, RelayOptions } from '../src/relay/server'
import type { HistoryMessage, Link, LinkHandlers, MessageEvent, RTM, RTMConfig, Transport } from '../src/sdk'
import { SqliteStore } from '../src/store/sqlite-store'
import { SocketIoTransport } from '../src/transport/socket-io'
import { HeldCommitStore } from './held-commit-store'
import { Capture, client, relayForTest, spread } from './helpers'
import { dropSocketOf, expectCode, reconnected } from './relay-control'

/**
 * Bursts of hundreds of publishes: the default limits (60 publishes/s in bursts of 120 per
 * user, 100 requests/s in bursts of 200 per connection) would refuse them, so these relays lift both.
 */
const BURSTS: RelayOptions = { engine: { publishRate: { perSecond: 10_000, burst: 10_000 } }, requestRate: { perSecond: 10_000, burst: 10_000 } }

/**
 * The real socket.io transport behind a plug. Unplugged, a connection attempt gets no socket
 * and hangs (as on a dead network) until the plug is back in, so the SDK stays offline for as
 * long as the test needs and reconnects the moment it may. `holdNext` keeps one outgoing frame
 * from leaving until released, to pin down what arrives first.
 */
class Cable implements Transport {
  readonly name = 'relay'
  private plugged = true
  private readonly dialing = new Set<() => void>()
  private hold: { match: (frame: RequestFrame) => boolean; reached: (frame: RequestFrame) => void; released: Promise<void> } | null = null
  private coalescing: { first: (frame: unknown) => boolean; last: (frame: unknown) => boolean; reached: () => void; frames: unknown[] | null } | null = null
  private readonly socketIo: SocketIoTransport

  constructor(url: string) {
    this.socketIo = new SocketIoTransport(url)
  }

  unplug(): void {
    this.plugged = false
  }

  plug(): void {
    this.plugged = true
    for (const dial of [...this.dialing]) dial()
  }

  holdNext(match: (frame: RequestFrame) => boolean): { reached: Promise<RequestFrame>; release: () => void } {
    let reached!: (frame: RequestFrame) => void
    let release!: () => void
    const reachedPromise = new Promise<RequestFrame>((resolve) => { reached = resolve })
    this.hold = { match, reached, released: new Promise<void>((resolve) => { release = resolve }) }
    return { reached: reachedPromise, release }
  }

  /**
   * From an incoming frame matching `first` on, frames wait until one matching `last` comes;
   * then all of them are handed to the SDK in one go, as from one read off the socket.
   * Resolves when `first` arrived.
   */
  coalesceInbound(first: (frame: unknown) => boolean, last: (frame: unknown) => boolean): Promise<void> {
    return new Promise((reached) => { this.coalescing = { first, last, reached, frames: null } })
  }

  connect(handlers: LinkHandlers): Link {
    let link: Link | null = null
    let closed = false
    const inbound: LinkHandlers = { ...handlers, frame: (frame) => this.receive(frame, handlers) }
    const dial = () => {
      this.dialing.delete(dial)
      if (!closed) link = this.socketIo.connect(inbound)
    }
    if (this.plugged) dial()
    else this.dialing.add(dial)
    return {
      send: (frame) => {
        const hold = this.hold
        if (!hold?.match(frame)) return link?.send(frame)
        this.hold = null
        hold.reached(frame)
        void hold.released.then(() => link?.send(frame))
      },
      close: () => {
        closed = true
        this.dialing.delete(dial)
        link?.close()
      },
    }
  }

  private receive(frame: unknown, handlers: LinkHandlers): void {
    const batch = this.coalescing
    if (!batch || (!batch.frames && !batch.first(frame))) return handlers.frame(frame)
    if (!batch.frames) batch.reached()
    batch.frames = [...(batch.frames ?? []), frame]
    if (!batch.last(frame)) return
    this.coalescing = null
    for (const each of batch.frames) handlers.frame(each)
  }
}

/** Relays (restartable on their port and DATA_DIR), the clients the test joins and temp folders, all gone after each test. */
function historyWorld() {
  const relays: Relay[] = []
  const clients: RTM[] = []
  const dirs: string[] = []
  afterEach(async () => {
    for (const rtm of clients.splice(0)) rtm.release()
    for (const relay of relays.splice(0)) await relay.close()
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })
  return {
    async start(options: RelayOptions = {}): Promise<Relay> {
      const relay = await relayForTest(options)
      relays.push(relay)
      return relay
    },
    /** Begins closing `relay` (sockets dropped at once); the test may act before awaiting it. */
    stop(relay: Relay): Promise<void> {
      relays.splice(relays.indexOf(relay), 1)
      return relay.close()
    },
    /** A SQLite store on a fresh DATA_DIR; call again with the same folder after a restart. */
    dataDir(): string {
      const dir = mkdtempSync(joinPath(tmpdir(), 'history-data-'))
      dirs.push(dir)
      return dir
    },
    async join(relay: Relay, userId: string, config: RTMConfig = {}): Promise<RTM> {
      const rtm = await client(relay, userId, config)
      clients.push(rtm)
      return rtm
    },
    /**
     * alice, and bob on a cable subscribed to `channels`; bob sees alice's stored 'before'
     * live, then goes offline (his captures of messages, recoveries and frames kept).
     */
    async away(relay: Relay, channels = ['room']) {
      const alice = await this.join(relay, 'alice')
      const { rtm: bob, cable } = await this.joinOnCable(relay, 'bob')
      const messages = new Capture(bob, 'message')
      const recoveries = new Capture(bob, 'recovery')
      const frames = new Capture(bob, 'frame')
      for (const channel of channels) await bob.subscribe(channel)
      const before = await alice.publish('room', 'before', { storeInHistory: true })
      await messages.next((event) => event.message === 'before')
      await goOffline(relay, bob, cable)
      return { alice, bob, cable, messages, recoveries, frames, before }
    },
    /** A client whose network the test can pull (see Cable). */
    async joinOnCable(relay: Relay, userId: string): Promise<{ rtm: RTM; cable: Cable }> {
      const cable = new Cable(relay.url)
      return { rtm: await this.join(relay, userId, { transport: cable }), cable }
    },
  }
}

/** The relay drops the client's socket and the client cannot dial back until the cable is plugged in. */
async function goOffline(relay: Relay, rtm: RTM, cable: Cable): Promise<void> {
  const links = new Capture(rtm, 'linkState')
  cable.unplug()
  expect(dropSocketOf(relay, rtm.userId)).toBe(1)
  await links.next((event) => event.currentState === 'DISCONNECTED')
}

async function publishStored(rtm: RTM, channelName: string, names: string[]): Promise<void> {
  for (const name of names) await rtm.publish(channelName, name, { storeInHistory: true })
}

const numbered = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`)

/** Comparable across a restart: bytes as plain arrays. */
const plain = (list: HistoryMessage[]) => list.map((item) => ({ ...item, message: typeof item.message === 'string' ? item.message : [...item.message] }))

/** The message events after the one named `after`, as seen by the capture so far. */
const since = (messages: Capture<'message'>, after: string): MessageEvent[] => messages.seen.slice(messages.seen.findIndex((event) => event.message === after) + 1)

describe('message history through the SDK (rtm.history.getMessages)', () => {
  const world = historyWorld()

  it('pages newest first, following newStart until it is 0, with publisher, customType, timestamp and offset on each message', async () => {
    const relay = await world.start()
    const alice = await world.join(relay, 'alice')
    const bob = await world.join(relay, 'bob')
    const offsets: (number | undefined)[] = []
    for (let i = 0; i < 5; i++) offsets.push((await alice.publish('lobby', `m${i}`, { storeInHistory: true, customType: 'chat' })).offset)
    await alice.publish('lobby', 'not kept') // without storeInHistory
    expect(offsets).toEqual([1, 2, 3, 4, 5])

    const pages = []
    let start = 0
    do {
      const page = await bob.history.getMessages('lobby', 'MESSAGE', { messageCount: 2, start })
      pages.push(page)
      start = page.newStart
    } while (start !== 0 && pages.length < 10)
    expect(pages.map((page) => page.messageList.map((item) => item.message))).toEqual([['m4', 'm3'], ['m2', 'm1'], ['m0']])
    expect(pages.map((page) => page.count)).toEqual([2, 2, 1])
    const all = pages.flatMap((page) => page.messageList)
    all.forEach((item, i) => expect(item).toMatchObject({ publisher: 'alice', customType: 'chat', messageType: 'STRING', offset: 5 - i }))
    const timestamps = all.map((item) => item.timestamp)
    expect(new Set(timestamps).size).toBe(5)
    expect(timestamps).toEqual([...timestamps].sort((a, b) => b - a))
  })

  it('an empty channel has an empty history, and a page larger than 100 messages is refused with -10014', async () => {
    const relay = await world.start()
    const alice = await world.join(relay, 'alice')
    expect(await alice.history.getMessages('quiet', 'MESSAGE')).toMatchObject({ messageList: [], count: 0, newStart: 0 })
    await expectCode(alice.history.getMessages('quiet', 'MESSAGE', { messageCount: 101 }), -10014)
  })

  it('a binary message comes back from history as bytes', async () => {
    const relay = await world.start()
    const alice = await world.join(relay, 'alice')
    await alice.publish('bin', new Uint8Array([0, 1, 2, 254, 255]), { storeInHistory: true, customType: 'blob' })
    const [item] = (await alice.history.getMessages('bin', 'MESSAGE')).messageList
    expect(item).toMatchObject({ messageType: 'BINARY', customType: 'blob', publisher: 'alice', offset: 1 })
    expect(item.message).toBeInstanceOf(Uint8Array)
    expect([...(item.message as Uint8Array)]).toEqual([0, 1, 2, 254, 255])
  })

  it('with end-to-end encryption, peers with the key read the history decrypted; the relay keeps only ciphertext', async () => {
    const relay = await world.start()
    const secure: RTMConfig = { encryptionMode: 'AES_256_GCM', cipherKey: 'correct horse battery staple', salt: new Uint8Array(32).fill(7) }
    const alice = await world.join(relay, 'alice', secure)
    const bob = await world.join(relay, 'bob', secure)
    const eve = await world.join(relay, 'eve')
    await alice.publish('vault', 'the eagle has landed', { storeInHistory: true })
    await alice.publish('vault', new Uint8Array([9, 8, 7]), { storeInHistory: true })

    const atBob = (await bob.history.getMessages('vault', 'MESSAGE')).messageList
    expect(atBob.map((item) => item.messageType)).toEqual(['BINARY', 'STRING'])
    expect([...(atBob[0].message as Uint8Array)]).toEqual([9, 8, 7])
    expect(atBob[1]).toMatchObject({ message: 'the eagle has landed', publisher: 'alice', offset: 1 })
    const atEve = (await eve.history.getMessages('vault', 'MESSAGE')).messageList
    expect(atEve.map((item) => item.messageType)).toEqual(['BINARY', 'BINARY'])
    expect(new TextDecoder().decode(atEve[1].message as Uint8Array)).not.toContain('eagle')
  })
})

// Spread: tests the SQLite store in DATA_DIR across a restart; in scaled mode the state lives in Redis (the cluster fault tests restart that).
describe.skipIf(spread)('history across a relay restart (SQLite in DATA_DIR)', () => {
  const world = historyWorld()

  it('after a restart between publish and read the history is all there, in the same epoch, and offsets go on without repeating', async () => {
    const dir = world.dataDir()
    const first = await world.start({ store: await SqliteStore.open(dir) })
    const alice = await world.join(first, 'alice')
    const one = await alice.publish('lobby', 'one', { storeInHistory: true, customType: 'note' })
    await alice.publish('lobby', new Uint8Array([7, 7, 7]), { storeInHistory: true })
    await alice.publish('lobby', 'three', { storeInHistory: true })
    const before = await alice.history.getMessages('lobby', 'MESSAGE')

    const back = reconnected(alice)
    await world.stop(first)
    const second = await world.start({ port: first.port, store: await SqliteStore.open(dir) })
    await back

    const carol = await world.join(second, 'carol')
    const after = await carol.history.getMessages('lobby', 'MESSAGE')
    expect(plain(after.messageList)).toEqual(plain(before.messageList))
    expect(after.messageList.map((item) => item.offset)).toEqual([3, 2, 1])
    expect(after.messageList[1].message).toBeInstanceOf(Uint8Array)
    const four = await alice.publish('lobby', 'four', { storeInHistory: true })
    expect(four).toMatchObject({ offset: 4, epoch: one.epoch })
    expect((await carol.history.getMessages('lobby', 'MESSAGE')).messageList.map((item) => item.message)).toEqual(['four', 'three', expect.any(Uint8Array), 'one'])
  })

  it('a stored publish resent after a restart ate its reply is stored once', async () => {
    const dir = world.dataDir()
    const disk = new HeldCommitStore(await SqliteStore.open(dir))
    const first = await world.start({ store: disk })
    const alice = await world.join(first, 'alice')
    await alice.publish('lobby', 'first', { storeInHistory: true })

    const held = disk.holdNextCommit('durable')
    const publish = alice.publish('lobby', 'once', { storeInHistory: true })
    await held.reached // on disk; the reply waits for the commit
    const closing = world.stop(first) // sockets dropped at once: the reply is never sent
    held.release()
    await closing
    const second = await world.start({ port: first.port, store: await SqliteStore.open(dir) })

    expect(await publish).toMatchObject({ offset: 2 }) // resent with its id, answered from the reply stored with the message
    const carol = await world.join(second, 'carol')
    expect((await carol.history.getMessages('lobby', 'MESSAGE')).messageList.map((item) => [item.offset, item.message])).toEqual([[2, 'once'], [1, 'first']])
    expect((await alice.publish('lobby', 'next', { storeInHistory: true })).offset).toBe(3)
  })
})

describe('recovery of what a subscriber missed while offline', () => {
  const world = historyWorld()

  it('a subscriber offline while 300 messages were sent gets all 300, in order, once each, marked recovered, before anything newer', async () => {
    const relay = await world.start(BURSTS)
    const { alice, bob, cable, messages, recoveries, frames } = await world.away(relay)
    const missed = numbered('m', 0, 300)
    await publishStored(alice, 'room', missed)
    expect(bob.linkState).toBe('DISCONNECTED') // the link stayed down for the whole burst
    expect(messages.seen).toHaveLength(1)

    // The second recovery page is kept on the wire while a live message reaches bob: it must wait behind the recovered ones.
    const secondPage = cable.holdNext((frame) => frame.op === 'recoverMessages' && (frame.args as { offset: number }).offset > 1)
    const back = reconnected(bob)
    cable.plug()
    await secondPage.reached
    await alice.publish('room', 'live while recovering')
    await frames.next((event) => event.direction === 'in' && JSON.stringify(event.frame).includes('live while recovering'))
    secondPage.release()
    const recovery = await recoveries.next()
    await back
    await alice.publish('room', 'after', { storeInHistory: true })
    await messages.next((event) => event.message === 'after')

    const delivered = since(messages, 'before')
    expect(delivered.map((event) => event.message)).toEqual([...missed, 'live while recovering', 'after'])
    expect(delivered.slice(0, 300).map((event) => event.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i + 2))
    expect(delivered.slice(0, 300).every((event) => event.recovered === true && event.publisher === 'alice')).toBe(true)
    expect(delivered.slice(300).some((event) => event.recovered)).toBe(false)
    expect(recovery).toMatchObject({ channelName: 'room', channelType: 'MESSAGE', recovered: true, count: 300 })
    expect(recoveries.seen).toHaveLength(1)
  })

  // Spread: restarts one relay on its SQLite store (the history lives in Redis in scaled mode).
  it.skipIf(spread)('after a relay restart while the subscriber was away, it subscribes again and recovers from its old offset', async () => {
    const dir = world.dataDir()
    const first = await world.start({ ...BURSTS, store: await SqliteStore.open(dir) })
    const { alice, bob, cable, messages, recoveries, frames, before } = await world.away(first)
    await publishStored(alice, 'room', numbered('m', 0, 50))
    const aliceBack = reconnected(alice)
    await world.stop(first)
    const second = await world.start({ ...BURSTS, port: first.port, store: await SqliteStore.open(dir) })
    await aliceBack
    await publishStored(alice, 'room', numbered('m', 50, 100))

    const back = reconnected(bob)
    cable.plug()
    expect((await back).unrestoredChannels).toEqual([])
    const recovery = await recoveries.next()
    // The new relay never knew bob: his subscription was put back before recovering.
    expect(frames.seen.some((event) => event.direction === 'out' && (event.frame as RequestFrame).op === 'subscribe')).toBe(true)
    expect(recovery).toMatchObject({ channelName: 'room', recovered: true, count: 100 })
    const delivered = since(messages, 'before')
    expect(delivered.map((event) => event.message)).toEqual(numbered('m', 0, 100))
    expect(delivered.every((event) => event.recovered === true && event.epoch === before.epoch)).toBe(true)
    expect(delivered.map((event) => event.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2))
    expect(second.port).toBe(first.port)
  })

  // Spread: restarts one relay on its SQLite store (the history lives in Redis in scaled mode).
  it.skipIf(spread)('after a relay restart, a message that arrives while channels are still being subscribed again waits behind the recovered ones and skips none', async () => {
    const dir = world.dataDir()
    const first = await world.start({ store: await SqliteStore.open(dir) })
    const { alice, cable, messages, recoveries, frames } = await world.away(first, ['room', 'side'])
    const missed = numbered('m', 0, 10)
    await publishStored(alice, 'room', missed)
    const aliceBack = reconnected(alice)
    await world.stop(first)
    await world.start({ port: first.port, store: await SqliteStore.open(dir) })
    await aliceBack

    // bob has 'room' back and is still asking for 'side' when a new message of 'room' reaches him.
    const side = cable.holdNext((frame) => frame.op === 'subscribe' && (frame.args as { channelName: string }).channelName === 'side')
    cable.plug()
    await side.reached
    await alice.publish('room', 'during', { storeInHistory: true })
    await frames.next((event) => event.direction === 'in' && JSON.stringify(event.frame).includes('during'))
    side.release()
    const recovery = await recoveries.next((event) => event.channelName === 'room')

    expect(recovery).toMatchObject({ recovered: true, count: 11 })
    expect(since(messages, 'before').map((event) => event.message)).toEqual([...missed, 'during'])
  })

  it('a message that comes in the same read as the login reply of a reconnect waits behind the recovered ones and skips none', async () => {
    const relay = await world.start()
    const { alice, cable, messages, recoveries } = await world.away(relay)
    const missed = numbered('m', 0, 10)
    await publishStored(alice, 'room', missed)
    const loginReply = cable.coalesceInbound(
      (frame) => (frame as { t?: string; result?: { resumed?: boolean } }).result?.resumed === true,
      (frame) => JSON.stringify(frame).includes('during'),
    )
    cable.plug()
    await loginReply // the relay has bob's session back: 'during' goes to him live
    await alice.publish('room', 'during', { storeInHistory: true })
    const recovery = await recoveries.next()

    expect(recovery).toMatchObject({ recovered: true, count: 11 })
    expect(since(messages, 'before').map((event) => event.message)).toEqual([...missed, 'during'])
  })

  it('a gap longer than the history keeps is reported (recovered: false) and what is still kept is delivered', async () => {
    const relay = await world.start({ ...BURSTS, engine: { ...BURSTS.engine, historyRetention: { maxMessages: 50, maxAgeMs: 3_600_000 } } })
    const { alice, cable, messages, recoveries } = await world.away(relay)
    await publishStored(alice, 'room', numbered('m', 0, 80)) // offsets 2–81; the last 50 (m30–m79) are kept
    cable.plug()
    const recovery = await recoveries.next()

    expect(recovery).toMatchObject({ channelName: 'room', recovered: false, count: 50 })
    expect(recovery.reason).toMatch(/older than the history keeps/)
    const delivered = since(messages, 'before')
    expect(delivered.map((event) => event.message)).toEqual(numbered('m', 30, 80))
    expect(delivered.every((event) => event.recovered === true)).toBe(true)
  })
})

describe('stored direct messages (USER channels)', () => {
  const world = historyWorld()

  it('a stored message to a user who is away is kept; they read it after logging in, and nobody else can', async () => {
    const relay = await world.start()
    const alice = await world.join(relay, 'alice')
    const sent = await alice.publish('dave', 'are you there?', { channelType: 'USER', storeInHistory: true, customType: 'dm' })
    expect(sent.offset).toBe(1)

    const dave = await world.join(relay, 'dave')
    const atDave = await dave.history.getMessages('alice', 'USER')
    expect(atDave.messageList).toEqual([expect.objectContaining({ message: 'are you there?', publisher: 'alice', customType: 'dm', offset: 1 })])
    await dave.publish('alice', 'yes', { channelType: 'USER', storeInHistory: true })
    expect((await alice.history.getMessages('dave', 'USER')).messageList.map((item) => [item.publisher, item.message])).toEqual([['dave', 'yes'], ['alice', 'are you there?']])

    const carol = await world.join(relay, 'carol')
    expect(await carol.history.getMessages('alice', 'USER')).toMatchObject({ count: 0, messageList: [] })
    expect(await carol.history.getMessages('dave', 'USER')).toMatchObject({ count: 0, messageList: [] })
  })
})
