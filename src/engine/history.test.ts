import { describe, expect, it } from 'vitest'
import { ChannelType, MessageType } from '../protocol/enums'
import type { MessageEvent, ServerEvent } from '../protocol/events'
import type { Request } from '../protocol/requests'
import { DEFAULT_ENGINE_CONFIG, MAX_MESSAGE_BYTES, type EngineConfig, type Reply } from './app-engine'
import { Coordinator, type Handled } from './coordinator'
import type { Output, Write } from './effects'
import { DEFAULT_RETENTION, MAX_APP_HISTORY_BYTES, MESSAGE_OVERHEAD_BYTES, MAX_PAGE_MESSAGES, PAGE_BYTES, RECOVERY_PAGE_MESSAGES, type HistoryPage } from './history'

type EngineRequest = Exclude<Request, { op: 'login' | 'renewToken' }>
type PublishOptions = { channelType?: 1 | 3; customType?: string; store?: boolean }
type PageOptions = { channelType?: 1 | 3; messageCount?: number; start?: number; end?: number }
interface Recovered { channelName: string; epoch: string; offset: number; recovered: boolean; more: boolean; messages: MessageEvent[] }

/** Tests publish thousands of messages in one ms: the publish rate limit is not what they are about. */
const UNLIMITED = { publishRate: { perSecond: 1e9, burst: 1e9 } }
const OVERHEAD = MESSAGE_OVERHEAD_BYTES
/** A string payload that makes a stored message of exactly `bytes` bytes when `publisher` sends it without customType. */
const sized = (bytes: number, publisher = 'alice') => 'x'.repeat(bytes - OVERHEAD - publisher.length)

/**
 * A fake host around the real Coordinator: a clock moved by hand, events per connection,
 * and the durable store as the host keeps it (writes applied in order, deletes removing).
 * `restart()` builds a new coordinator from that store, through JSON as SQLite keeps it.
 */
class World {
  readonly coordinator: Coordinator
  readonly inbox = new Map<string, ServerEvent[]>()
  readonly store = new Map<string, unknown>()
  /** The writes of the last input, in order. */
  writes: Write[] = []
  private nextId = 1
  private readonly resumeKeys = new Map<string, string>()

  constructor(readonly config: EngineConfig, public now = 1_000_000, entries: Write[] = []) {
    this.coordinator = new Coordinator(config)
    this.coordinator.restore(entries)
    for (const { key, value } of entries) this.store.set(key, value)
  }

  login(conn: string, userId: string, appId = 'app', resumeKey?: string): Reply {
    const reply = this.record(this.coordinator.login(conn, { appId, userId, heartbeatInterval: 1800, resumeKey }, { tokenExpiresAt: null, newResumeKey: `key-${conn}-${this.nextId++}` }, this.now)).reply!
    if (reply.ok) this.resumeKeys.set(`${appId}/${userId}`, String(reply.result.resumeKey))
    return reply
  }

  /** The connection drops and the same client comes back within presenceTimeout (its subscriptions kept). */
  reconnect(conn: string, userId: string, appId = 'app'): void {
    this.record(this.coordinator.disconnect(conn, this.now))
    expect(this.login(conn, userId, appId, this.resumeKeys.get(`${appId}/${userId}`))).toMatchObject({ ok: true, result: { resumed: true } })
  }

  send(conn: string, request: EngineRequest): Reply {
    return this.record(this.coordinator.handle(conn, this.nextId++, request, this.now)).reply!
  }

  ok(conn: string, request: EngineRequest): Record<string, unknown> {
    const reply = this.send(conn, request)
    if (!reply.ok) throw new Error(`${request.op} failed: ${reply.error.errorCode} ${reply.error.reason}`)
    return reply.result
  }

  code(conn: string, request: EngineRequest): number {
    const reply = this.send(conn, request)
    if (reply.ok) throw new Error(`${request.op} was expected to fail, got ${JSON.stringify(reply.result)}`)
    return reply.error.errorCode
  }

  publish(conn: string, channelName: string, message: string | Uint8Array, { channelType = 1, customType, store = true }: PublishOptions = {}) {
    return this.ok(conn, { op: 'publish', args: { channelName, channelType, message, customType, storeInHistory: store } }) as { channelName: string; offset?: number; epoch?: string }
  }

  /** Publishes `count` stored messages "m1".."m<count>" (or as `text` names them) in the current ms. */
  publishMany(conn: string, channelName: string, count: number, text = (i: number) => `m${i}`, options: PublishOptions = {}): void {
    for (let i = 1; i <= count; i++) this.publish(conn, channelName, text(i), options)
  }

  page(conn: string, channelName: string, { channelType = 1, ...options }: PageOptions = {}): HistoryPage {
    return this.ok(conn, { op: 'getMessages', args: { channelName, channelType, ...options } }) as unknown as HistoryPage
  }

  /** Every page from the newest back, following newStart. */
  allPages(conn: string, channelName: string, options: PageOptions = {}): HistoryPage[] {
    const pages = [this.page(conn, channelName, options)]
    while (pages.at(-1)!.newStart !== 0) pages.push(this.page(conn, channelName, { ...options, start: pages.at(-1)!.newStart }))
    return pages
  }

  recover(conn: string, channelName: string, epoch: string, offset: number): Recovered {
    return this.ok(conn, { op: 'recoverMessages', args: { channelName, epoch, offset } }) as unknown as Recovered
  }

  subscribe(conn: string, channelName: string): { epoch: string; offset: number } {
    return this.ok(conn, { op: 'subscribe', args: { channelName } }).history as { epoch: string; offset: number }
  }

  advance(ms: number): void {
    this.now += ms
    this.record(this.coordinator.tick(this.now))
  }

  messages(conn: string): MessageEvent[] {
    return (this.inbox.get(conn) ?? []).filter((event): event is MessageEvent => event.kind === 'message')
  }

  /** Keys of stored history entries (`hist/...` of `appId`), message keys ending in their offset. */
  historyKeys(appId = 'app'): string[] {
    return [...this.store.keys()].filter((key) => key.startsWith(`app/${appId}/hist/`)).map((key) => key.slice(`app/${appId}/`.length))
  }

  /** The host restarts: a new coordinator restored from what the store holds; nobody is connected. */
  restart(): World {
    const entries = [...this.store].map(([key, value]) => ({ key, value: JSON.parse(JSON.stringify(value)) as unknown }))
    return new World(this.config, this.now, entries)
  }

  private record<T extends Output | Handled>(output: T): T {
    this.writes = output.writes
    for (const { key, value } of output.writes) {
      if (value === null) this.store.delete(key)
      else this.store.set(key, value)
    }
    for (const { to, event } of output.sends) {
      for (const conn of to) this.inbox.set(conn, [...(this.inbox.get(conn) ?? []), event])
    }
    return output
  }
}

function world(config: Partial<EngineConfig> = {}, ...users: [conn: string, userId: string][]): World {
  const w = new World({ ...DEFAULT_ENGINE_CONFIG, ...UNLIMITED, ...config })
  for (const [conn, userId] of users.length > 0 ? users : [['a', 'alice'], ['b', 'bob']] as [string, string][]) w.login(conn, userId)
  return w
}

const retention = (overrides: Partial<EngineConfig['historyRetention']>) => ({ historyRetention: { ...DEFAULT_RETENTION, ...overrides } })
/** Offsets of a page or of a recovery reply (a recovered event without one shows as NaN). */
const offsets = (page: { messageList: { offset: number }[] } | { messages: { offset?: number }[] }): number[] =>
  'messageList' in page ? page.messageList.map((message) => message.offset) : page.messages.map((event) => event.offset ?? NaN)
/** n, n-1, …, down to `to`: what a newest-first page lists. */
const down = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => from - i)
const up = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const deletes = (writes: Write[]) => writes.filter((write) => write.value === null).map((write) => write.key.replace(/^app\/[^/]+\//, ''))

describe('getMessages paging', () => {
  /** m1…m10 published 10 ms apart; `at[i]` is the timestamp of m<i>. */
  function tenMessages10msApart() {
    const w = world()
    const at: number[] = [0]
    for (let i = 1; i <= 10; i++) {
      w.advance(10)
      at.push(w.now)
      w.publish('a', 'room', `m${i}`)
    }
    return { w, at }
  }

  it('an empty channel (or a conversation never had) gives an empty page with newStart 0', () => {
    const w = world()
    expect(w.page('a', 'room')).toEqual({ messageList: [], count: 0, newStart: 0 })
    expect(w.page('a', 'bob', { channelType: ChannelType.USER })).toEqual({ messageList: [], count: 0, newStart: 0 })
    w.publish('a', 'room', 'not kept', { store: false })
    expect(w.page('a', 'room').count).toBe(0)
  })

  it('100 messages are exactly one page: newest first, with publisher, customType, type, timestamp and offset, newStart 0', () => {
    const w = world()
    w.publishMany('a', 'room', 100, (i) => `m${i}`, { customType: 'chat' })
    const page = w.page('b', 'room')
    expect(page.count).toBe(100)
    expect(page.newStart).toBe(0)
    expect(offsets(page)).toEqual(down(100, 1))
    expect(page.messageList[0]).toEqual({ message: 'm100', messageType: MessageType.STRING, publisher: 'alice', customType: 'chat', timestamp: w.now + 99, offset: 100 })
    expect(page.messageList.at(-1)).toMatchObject({ message: 'm1', timestamp: w.now, offset: 1 })
  })

  it('101 messages are two pages, the second holding only the oldest one', () => {
    const w = world()
    w.publishMany('a', 'room', 101)
    const first = w.page('b', 'room')
    expect(offsets(first)).toEqual(down(101, 2))
    expect(first.newStart).toBe(w.now) // the oldest message's timestamp: the next page starts at it
    const second = w.page('b', 'room', { start: first.newStart })
    expect(second).toEqual({ messageList: [expect.objectContaining({ message: 'm1', offset: 1 })], count: 1, newStart: 0 })
  })

  it('start and end bound the timestamps inclusively, newest first; 0 leaves that side open', () => {
    const { w, at } = tenMessages10msApart()
    expect(offsets(w.page('a', 'room', { start: at[7], end: at[4] }))).toEqual([7, 6, 5, 4])
    expect(offsets(w.page('a', 'room', { start: 0, end: at[8] }))).toEqual([10, 9, 8])
    expect(offsets(w.page('a', 'room', { start: at[2], end: 0 }))).toEqual([2, 1])
    // Between two messages: the bounds fall on the nearest ones inside them.
    expect(offsets(w.page('a', 'room', { start: at[7] - 1, end: at[4] + 1 }))).toEqual([6, 5])
    expect(offsets(w.page('a', 'room', { start: at[5], end: at[5] }))).toEqual([5])
    expect(w.page('a', 'room', { start: at[1] - 1 })).toEqual({ messageList: [], count: 0, newStart: 0 })
  })

  it('paging within bounds ends at `end`: newStart is 0 once the next message is older than it', () => {
    const { w, at } = tenMessages10msApart()
    const first = w.page('a', 'room', { messageCount: 2, start: at[8], end: at[4] })
    expect(offsets(first)).toEqual([8, 7])
    expect(first.newStart).toBe(at[6])
    const second = w.page('a', 'room', { messageCount: 2, start: first.newStart, end: at[4] })
    expect(offsets(second)).toEqual([6, 5])
    expect(second.newStart).toBe(at[4])
    expect(w.page('a', 'room', { messageCount: 2, start: second.newStart, end: at[4] })).toMatchObject({ count: 1, newStart: 0 })
  })

  it('refuses end later than start and messageCount outside 1–100 with -10014 INVALID_PARAMETER', () => {
    const w = world()
    w.publishMany('a', 'room', 3)
    expect(w.code('a', { op: 'getMessages', args: { channelName: 'room', channelType: 1, start: w.now, end: w.now + 1 } })).toBe(-10014)
    expect(w.code('a', { op: 'getMessages', args: { channelName: 'room', channelType: 1, messageCount: 0 } })).toBe(-10014)
    expect(w.code('a', { op: 'getMessages', args: { channelName: 'room', channelType: 1, messageCount: MAX_PAGE_MESSAGES + 1 } })).toBe(-10014)
    // end with an open start is fine: "everything since end".
    expect(w.page('a', 'room', { start: 0, end: w.now + 1 }).count).toBe(2)
    expect(w.page('a', 'room', { messageCount: 1 }).count).toBe(1)
  })

  it('refuses a stream channel (-10019) and invalid names (-10008 channel, -10006 user)', () => {
    const w = world()
    expect(w.code('a', { op: 'getMessages', args: { channelName: 'room', channelType: ChannelType.STREAM } })).toBe(-10019)
    expect(w.code('a', { op: 'getMessages', args: { channelName: ' ', channelType: ChannelType.MESSAGE } })).toBe(-10008)
    expect(w.code('a', { op: 'getMessages', args: { channelName: '', channelType: ChannelType.USER } })).toBe(-10006)
  })

  it('a page of big messages stops at PAGE_BYTES, and newStart continues with nothing lost or repeated', () => {
    const w = world()
    // Mixed sizes, so the byte cap falls at different places on different pages.
    const payload = (i: number) => `${i}:`.padEnd(i % 3 === 0 ? MAX_MESSAGE_BYTES : 10_000, 'x')
    w.publishMany('a', 'room', 150, payload)
    const pages = w.allPages('b', 'room')
    for (const page of pages) {
      expect(page.count).toBeLessThan(MAX_PAGE_MESSAGES)
      expect(page.messageList.reduce((sum, message) => sum + (message.message as string).length + OVERHEAD + 5, 0)).toBeLessThanOrEqual(PAGE_BYTES)
    }
    expect(pages.length).toBeGreaterThan(2)
    expect(pages.flatMap(offsets)).toEqual(down(150, 1))
    expect(pages.flatMap((page) => page.messageList.map((message) => message.message))).toEqual(down(150, 1).map(payload))
  })

  it('a message as big as a publish allows still makes a page on its own', () => {
    const w = world()
    w.publish('a', 'room', 'y'.repeat(MAX_MESSAGE_BYTES), { customType: 'c'.repeat(32) })
    expect(w.page('a', 'room').count).toBe(1)
  })

  it('timestamps stay distinct within a channel for many publishes in the same ms, so paging one by one sees each once', () => {
    const w = world({}, ['a', 'alice'], ['b', 'bob'])
    w.subscribe('b', 'room')
    w.publishMany('a', 'room', 250)
    const live = w.messages('b')
    expect(live.map((event) => event.timestamp)).toEqual(up(w.now, w.now + 249))
    expect(live.map((event) => event.offset)).toEqual(up(1, 250))
    // The live event says what getMessages will say.
    expect(w.page('a', 'room', { messageCount: 1 }).messageList[0].timestamp).toBe(live.at(-1)!.timestamp)
    const seen: number[] = []
    for (let start = 0, first = true; first || start !== 0; first = false) {
      const page = w.page('a', 'room', { messageCount: 1, start })
      seen.push(...offsets(page))
      start = page.newStart
    }
    expect(seen).toEqual(down(250, 1))
    // Another channel has its own sequence: its first message in the same ms takes the ms itself.
    w.publish('a', 'other', 'first')
    expect(w.page('a', 'other').messageList[0].timestamp).toBe(w.now)
  })
})

describe('retention', () => {
  it('a channel keeps its newest maxMessages, and the store deletes each message trimmed', () => {
    const w = world(retention({ maxMessages: 5 }))
    w.publishMany('a', 'room', 5)
    expect(deletes(w.writes)).toEqual([])
    w.publish('a', 'room', 'm6')
    expect(w.writes.map((write) => [write.key.replace('app/app/', ''), write.value === null ? 'deleted' : 'written'])).toEqual([
      ['hist/m/room/1', 'deleted'], ['hist/m/room/6', 'written'],
    ])
    expect(offsets(w.page('b', 'room'))).toEqual(down(6, 2))
    expect(w.historyKeys().sort()).toEqual(['hist/m/room', ...up(2, 6).map((n) => `hist/m/room/${n}`)].sort())
  })

  it('a message older than maxAgeMs goes at the next tick, with a delete write for each', () => {
    const w = world(retention({ maxAgeMs: 60_000 }))
    const start = w.now
    w.publishMany('a', 'room', 3) // at start, start+1, start+2
    w.advance(30_000)
    w.publishMany('a', 'room', 2)
    w.advance(start + 60_000 - w.now) // exactly maxAgeMs after the first: it goes, the second (1 ms younger) stays
    expect(deletes(w.writes)).toEqual(['hist/m/room/1'])
    w.advance(10)
    expect(deletes(w.writes).sort()).toEqual(['hist/m/room/2', 'hist/m/room/3'])
    expect(offsets(w.page('b', 'room'))).toEqual([5, 4])
    w.advance(30_000)
    expect(w.page('b', 'room').count).toBe(0)
  })

  it('an app with its own retention is trimmed by it; other apps keep the default; a partial override keeps the rest', () => {
    const w = world({
      ...retention({ maxMessages: 10, maxAgeMs: 60_000 }),
      historyRetentionByApp: { short: { maxMessages: 3 }, brief: { maxAgeMs: 1_000 } },
    })
    w.login('s', 'alice', 'short')
    w.login('f', 'alice', 'brief')
    for (const conn of ['a', 's', 'f']) w.publishMany(conn, 'room', 12)
    expect(offsets(w.page('a', 'room'))).toEqual(down(12, 3))
    expect(offsets(w.page('s', 'room'))).toEqual(down(12, 10))
    expect(offsets(w.page('f', 'room'))).toEqual(down(12, 3)) // 'brief' keeps the default count
    w.advance(2_000)
    expect(w.page('f', 'room').count).toBe(0)
    expect(w.page('s', 'room').count).toBe(3) // 'short' keeps the default age
    expect(w.page('a', 'room').count).toBe(10)
  })

  it('the global byte cap evicts the app\'s oldest message first, whichever channel holds it', () => {
    const w = world({ historyMaxBytes: 10 * 1000 })
    for (let i = 1; i <= 5; i++) {
      w.publish('a', 'one', sized(1000))
      w.publish('a', 'two', sized(1000))
    }
    expect(deletes(w.writes)).toEqual([]) // exactly full
    w.publish('a', 'two', sized(1000))
    expect(deletes(w.writes)).toEqual(['hist/m/one/1'])
    w.publish('a', 'two', sized(1000))
    expect(deletes(w.writes)).toEqual(['hist/m/two/1'])
    expect(offsets(w.page('a', 'one'))).toEqual([5, 4, 3, 2])
    expect(offsets(w.page('a', 'two'))).toEqual(down(7, 2))
    // A bigger message makes room for itself by evicting as many as it takes.
    w.publish('a', 'one', sized(2500))
    expect(deletes(w.writes)).toEqual(['hist/m/one/2', 'hist/m/two/2', 'hist/m/one/3'])
  })

  it('an app whose history holds the whole global quota keeps storing; another app\'s stored publish is refused with -11024', () => {
    const w = world({ historyMaxBytes: 10 * 1000 })
    w.login('o', 'alice', 'other')
    w.publishMany('a', 'room', 10, () => sized(1000))
    const refused = w.send('o', { op: 'publish', args: { channelName: 'room', channelType: 1, message: 'hi', storeInHistory: true } })
    expect(refused).toMatchObject({ ok: false, error: { errorCode: -11024, name: 'CHANNEL_PUBLISH_MESSAGE_FAILED', operation: 'publish' } })
    expect(!refused.ok && refused.error.reason).toMatch(/history store is full/)
    expect(w.writes).toEqual([])
    // Not stored, it goes through; the full app evicts its own oldest.
    w.publish('o', 'room', 'hi', { store: false })
    w.publish('a', 'room', sized(1000))
    expect(deletes(w.writes)).toEqual(['hist/m/room/1'])
    expect(w.page('a', 'room').count).toBe(10)
    expect(w.page('o', 'room').count).toBe(0)
    // Once the full app's history ages out, the quota is free again (the day also timed the sessions out).
    w.advance(DEFAULT_RETENTION.maxAgeMs + 1)
    w.login('o', 'alice', 'other')
    expect(w.publish('o', 'room', 'hi')).toMatchObject({ offset: 1 })
  })

  it(`an app's history stays under MAX_APP_HISTORY_BYTES (${MAX_APP_HISTORY_BYTES}) even when the global quota is larger`, () => {
    const w = world({ historyMaxBytes: 4 * MAX_APP_HISTORY_BYTES })
    const big = sized(MAX_MESSAGE_BYTES + OVERHEAD + 5)
    const fit = Math.floor(MAX_APP_HISTORY_BYTES / (MAX_MESSAGE_BYTES + OVERHEAD + 5))
    // Three channels, so that the per-channel count (1,000) is not what trims.
    for (let i = 0; i < fit + 30; i++) w.publish('a', `c${i % 3}`, big)
    const kept = ['c0', 'c1', 'c2'].flatMap((name) => w.allPages('a', name).flatMap(offsets))
    expect(kept).toHaveLength(fit)
    // The 30 oldest (10 per channel) went first.
    expect(Math.min(...w.allPages('a', 'c0').flatMap(offsets))).toBe(11)
    // Another app is not affected by this one's cap.
    w.login('o', 'alice', 'other')
    expect(w.publish('o', 'room', big)).toMatchObject({ offset: 1 })
    expect(deletes(w.writes)).toEqual([])
  })
})

describe('user channel history', () => {
  it('a conversation reads the same for both users, and no one else can read it under any name', () => {
    const w = world({}, ['a', 'alice'], ['b', 'bob'], ['c', 'carol'])
    w.publish('a', 'bob', 'hi bob', { channelType: 3 })
    w.publish('b', 'alice', 'hi alice', { channelType: 3 })
    w.publish('a', 'bob', 'how are you', { channelType: 3, customType: 'chat' })
    const alices = w.page('a', 'bob', { channelType: 3 })
    expect(alices.messageList.map((m) => [m.publisher, m.message, m.offset])).toEqual([
      ['alice', 'how are you', 3], ['bob', 'hi alice', 2], ['alice', 'hi bob', 1],
    ])
    expect(w.page('b', 'alice', { channelType: 3 })).toEqual(alices)
    for (const name of ['alice', 'bob', 'carol', 'alice\nbob', 'bob\nalice']) {
      for (const channelType of [1, 3] as const) {
        const reply = w.send('c', { op: 'getMessages', args: { channelName: name, channelType } })
        expect(reply.ok ? (reply.result as unknown as HistoryPage).count : 0).toBe(0)
      }
    }
    // carol's own conversation with alice is apart from alice↔bob.
    w.publish('c', 'alice', 'hello from carol', { channelType: 3 })
    expect(offsets(w.page('a', 'carol', { channelType: 3 }))).toEqual([1])
    expect(w.page('a', 'bob', { channelType: 3 })).toEqual(alices)
    // A message channel named after a user is not the conversation.
    expect(w.page('a', 'bob').count).toBe(0)
  })

  it('a stored message to an offline user succeeds and waits in the conversation; a non-stored one is -11033', () => {
    const w = world({}, ['a', 'alice'])
    expect(w.code('a', { op: 'publish', args: { channelName: 'bob', channelType: 3, message: 'lost' } })).toBe(-11033)
    expect(w.publish('a', 'bob', 'for later', { channelType: 3 })).toMatchObject({ channelName: 'bob', offset: 1 })
    w.login('b', 'bob')
    expect(w.messages('b')).toEqual([])
    expect(w.page('b', 'alice', { channelType: 3 }).messageList).toEqual([expect.objectContaining({ message: 'for later', publisher: 'alice', offset: 1 })])
  })

  it('the live event of a stored message names the sender as its channel and carries offset and epoch', () => {
    const w = world()
    const sent = w.publish('a', 'bob', 'hi', { channelType: 3 })
    const [event] = w.messages('b')
    expect(event).toMatchObject({ channelType: 3, channelName: 'alice', publisher: 'alice', message: 'hi', offset: 1, epoch: sent.epoch })
    expect(event.timestamp).toBe(w.page('a', 'bob', { channelType: 3 }).messageList[0].timestamp)
    expect(w.messages('a')).toEqual([])
  })
})

describe('recovery (recoverMessages)', () => {
  /** bob subscribed after alice's first stored message, then missed `missed` more while away. */
  function away(missed: number, config: Partial<EngineConfig> = {}) {
    const w = world(config)
    w.publish('a', 'room', 'm1')
    const seen = w.subscribe('b', 'room')
    w.publishMany('a', 'room', missed, (i) => `m${i + 1}`)
    w.reconnect('b', 'bob')
    return { w, seen }
  }

  it('the subscribe reply says where the history stands: epoch and last offset', () => {
    const { w, seen } = away(0)
    expect(seen).toEqual({ epoch: expect.stringMatching(/.+/), offset: 1 })
    expect(w.subscribe('a', 'room')).toEqual(seen)
    expect(w.subscribe('a', 'empty')).toEqual({ epoch: '', offset: 0 })
  })

  it(`same epoch: what came after the offset, oldest first, in pages of ${RECOVERY_PAGE_MESSAGES} with more`, () => {
    const { w, seen } = away(250)
    const got: MessageEvent[] = []
    let from = seen.offset
    const replies: Recovered[] = []
    do {
      replies.push(w.recover('b', 'room', seen.epoch, from))
      got.push(...replies.at(-1)!.messages)
      from = got.at(-1)!.offset!
    } while (replies.at(-1)!.more)
    expect(replies.map((reply) => [reply.messages.length, reply.more, reply.recovered, reply.offset, reply.epoch])).toEqual([
      [100, true, true, 251, seen.epoch], [100, true, true, 251, seen.epoch], [50, false, true, 251, seen.epoch],
    ])
    expect(got.map((event) => event.offset)).toEqual(up(2, 251))
    expect(got.map((event) => event.message)).toEqual(up(2, 251).map((n) => `m${n}`))
    expect(got[0]).toMatchObject({ kind: 'message', channelType: 1, channelName: 'room', publisher: 'alice', epoch: seen.epoch })
    // Caught up: nothing more, and recovered.
    expect(w.recover('b', 'room', seen.epoch, 251)).toMatchObject({ messages: [], more: false, recovered: true, offset: 251 })
  })

  it('a recovery reply also stops at PAGE_BYTES; asking on from its last offset loses and repeats nothing', () => {
    const { w, seen } = away(80)
    const big = (i: number) => `${i}:`.padEnd(MAX_MESSAGE_BYTES, 'x')
    w.publishMany('a', 'room', 80, (i) => big(i + 81))
    const got: MessageEvent[] = []
    let reply = w.recover('b', 'room', seen.epoch, seen.offset)
    const sizes = [reply.messages.length]
    got.push(...reply.messages)
    while (reply.more) {
      reply = w.recover('b', 'room', seen.epoch, got.at(-1)!.offset!)
      sizes.push(reply.messages.length)
      got.push(...reply.messages)
    }
    expect(sizes[0]).toBe(RECOVERY_PAGE_MESSAGES) // 80 small, then 20 big fit
    expect(Math.max(...sizes.slice(1))).toBeLessThan(40) // 32 KB each: about 31 per MiB
    expect(got.map((event) => event.offset)).toEqual(up(2, 161))
    expect(got.at(-1)!.message).toBe(big(161))
  })

  it('a gap beyond retention is recovered:false with what remains', () => {
    const { w, seen } = away(100, retention({ maxMessages: 50 }))
    const reply = w.recover('b', 'room', seen.epoch, seen.offset)
    expect(reply).toMatchObject({ recovered: false, more: false, offset: 101, epoch: seen.epoch })
    expect(offsets(reply)).toEqual(up(52, 101))
    // From an offset still held, the rest is whole.
    expect(w.recover('b', 'room', seen.epoch, 60)).toMatchObject({ recovered: true })
  })

  it('a gap after age trimming is recovered:false too, even with nothing left', () => {
    const { w, seen } = away(3, retention({ maxAgeMs: 1_000 }))
    w.advance(2_000)
    expect(w.recover('b', 'room', seen.epoch, seen.offset)).toEqual({
      channelName: 'room', epoch: seen.epoch, offset: 4, recovered: false, more: false, messages: [],
    })
  })

  it('another epoch is recovered:false with the whole current epoch (the client saw none of it) and its head', () => {
    const { w, seen } = away(5)
    const reply = w.recover('b', 'room', 'some-old-epoch', 3)
    expect(reply).toMatchObject({ channelName: 'room', epoch: seen.epoch, offset: 6, recovered: false, more: false })
    expect(reply.messages.map((event) => event.offset)).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('epoch "" (nothing was stored when the client subscribed) gets everything from the start', () => {
    const w = world()
    const seen = w.subscribe('b', 'room')
    expect(seen).toEqual({ epoch: '', offset: 0 })
    expect(w.recover('b', 'room', '', 0)).toMatchObject({ epoch: '', offset: 0, recovered: true, messages: [] })
    w.publishMany('a', 'room', 3)
    const reply = w.recover('b', 'room', '', 0)
    expect(reply).toMatchObject({ recovered: true, more: false, offset: 3, epoch: w.messages('b')[0].epoch })
    expect(reply.messages.map((event) => event.message)).toEqual(['m1', 'm2', 'm3'])
  })

  it('a client whose channel history vanished entirely is told recovered:false', () => {
    const w = world(retention({ maxAgeMs: 1_000 }))
    w.publish('a', 'room', 'm1')
    const seen = w.subscribe('b', 'room')
    w.ok('b', { op: 'unsubscribe', args: { channelName: 'room' } })
    w.advance(2_000) // emptied with nobody subscribed: dropped
    w.subscribe('b', 'room')
    expect(w.recover('b', 'room', seen.epoch, seen.offset)).toMatchObject({ recovered: false, epoch: '', offset: 0, messages: [] })
  })

  it('recoverMessages without a subscription is -11002', () => {
    const w = world()
    w.publish('a', 'room', 'm1')
    expect(w.code('b', { op: 'recoverMessages', args: { channelName: 'room', epoch: '', offset: 0 } })).toBe(-11002)
  })
})

describe('durability', () => {
  it('a restarted coordinator answers the same pages, continues the offsets and keeps the epoch', () => {
    const w = world(retention({ maxMessages: 120 }))
    w.publishMany('a', 'room', 150, (i) => `m${i}`, { customType: 'chat' })
    w.publish('a', 'bob', 'dm', { channelType: 3 })
    const before = w.allPages('b', 'room')
    const seen = w.subscribe('b', 'room')
    const last = before[0].messageList[0].timestamp

    const after = w.restart()
    after.login('a', 'alice')
    after.login('b', 'bob')
    expect(after.allPages('b', 'room')).toEqual(before)
    expect(offsets(before[0])[0]).toBe(150)
    expect(after.page('b', 'alice', { channelType: 3 }).messageList).toEqual([expect.objectContaining({ message: 'dm', offset: 1 })])
    after.subscribe('b', 'room')
    expect(after.recover('b', 'room', seen.epoch, 140)).toMatchObject({ recovered: true, offset: 150, epoch: seen.epoch })
    // In the same ms as the last message before the restart: the next offset, a later timestamp.
    after.now = last
    const next = after.publish('a', 'room', 'm151')
    expect(next).toMatchObject({ offset: 151, epoch: seen.epoch })
    expect(after.page('b', 'room', { messageCount: 2 }).messageList.map((m) => [m.offset, m.timestamp])).toEqual([[151, last + 1], [150, last]])
    expect(after.historyKeys().filter((key) => key.startsWith('hist/m/room/'))).toHaveLength(120)
  })

  it('retention and byte accounting carry across a restart', () => {
    const w = world({ ...retention({ maxMessages: 5 }), historyMaxBytes: 8 * 1000 })
    w.publishMany('a', 'one', 5, () => sized(1000))
    w.now += 10 // after 'one' in time too: a burst's timestamps run ahead of the clock by 1 ms per message
    w.publishMany('a', 'two', 3, () => sized(1000))
    const after = w.restart()
    after.login('a', 'alice')
    after.publish('a', 'one', sized(1000))
    // Full: the oldest of the app goes (and 'one' is over its count only after that).
    expect(deletes(after.writes)).toEqual(['hist/m/one/1'])
    after.now += 10
    after.publish('a', 'two', sized(1000))
    expect(deletes(after.writes)).toEqual(['hist/m/one/2'])
    after.advance(DEFAULT_RETENTION.maxAgeMs)
    expect(after.historyKeys()).toEqual([])
  })

  it('channel and user names with "/" and "%" keep their own history through the store', () => {
    const w = world({}, ['a', 'a/b'], ['b', 'a%2Fb'])
    w.publish('a', 'x/1', 'slash')
    w.publish('a', 'x%2F1', 'percent')
    w.publish('a', 'x', 'plain')
    w.publish('a', 'a%2Fb', 'dm', { channelType: 3 })
    const after = w.restart()
    after.login('a', 'a/b')
    for (const [name, message] of [['x/1', 'slash'], ['x%2F1', 'percent'], ['x', 'plain']]) {
      expect(after.page('a', name).messageList).toEqual([expect.objectContaining({ message, offset: 1 })])
    }
    expect(after.page('a', 'a%2Fb', { channelType: 3 }).messageList).toEqual([expect.objectContaining({ message: 'dm', publisher: 'a/b' })])
  })

  it('history outlives every session of its app', () => {
    const w = world()
    w.publish('a', 'room', 'kept')
    w.ok('a', { op: 'logout', args: {} })
    w.ok('b', { op: 'logout', args: {} })
    w.advance(60_000)
    w.login('c', 'carol')
    expect(w.page('c', 'room').messageList).toEqual([expect.objectContaining({ message: 'kept' })])
  })

  it('binary payloads come back as the same bytes after a restart (stored as base64)', () => {
    const w = world()
    const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i)
    const large = Uint8Array.from({ length: MAX_MESSAGE_BYTES }, (_, i) => (i * 31) % 256)
    w.publish('a', 'room', everyByte)
    w.publish('a', 'room', large)
    w.publish('a', 'room', 'AAEC') // a string that looks like base64 stays a string
    w.publish('a', 'room', new Uint8Array(0))
    const after = w.restart()
    after.login('b', 'bob')
    const [empty, text, second, first] = after.page('b', 'room').messageList
    expect(first.messageType).toBe(MessageType.BINARY)
    expect(first.message).toBeInstanceOf(Uint8Array)
    expect([...(first.message as Uint8Array)]).toEqual([...everyByte])
    expect(second.message).toEqual(large)
    expect(text).toMatchObject({ message: 'AAEC', messageType: MessageType.STRING })
    expect(empty).toMatchObject({ message: new Uint8Array(0), messageType: MessageType.BINARY })
  })

  it('a channel emptied with no subscriber is dropped (a new epoch later); one with a subscriber keeps its epoch and offset', () => {
    const w = world(retention({ maxAgeMs: 1_000 }))
    const quiet = w.publish('a', 'quiet', 'q1')
    w.publish('a', 'quiet', 'q2')
    w.subscribe('b', 'watched')
    const watched = w.publish('a', 'watched', 'w1')
    w.publish('a', 'watched', 'w2')
    w.advance(2_000)
    expect(w.historyKeys()).toEqual(['hist/m/watched'])
    expect(w.store.get('app/app/hist/m/watched')).toEqual({ epoch: watched.epoch, offset: 2 })
    expect(w.subscribe('a', 'watched')).toEqual({ epoch: watched.epoch, offset: 2 })
    expect(w.subscribe('a', 'quiet')).toEqual({ epoch: '', offset: 0 })
    w.ok('a', { op: 'unsubscribe', args: { channelName: 'quiet' } })
    w.ok('a', { op: 'unsubscribe', args: { channelName: 'watched' } })

    const again = w.publish('a', 'quiet', 'q3')
    expect(again.offset).toBe(1)
    expect(again.epoch).not.toBe(quiet.epoch)
    expect(w.publish('a', 'watched', 'w3')).toEqual({ channelName: 'watched', offset: 3, epoch: watched.epoch })
  })

  it('an emptied channel kept for its subscriber keeps its place across a restart while subscribed again before the next tick', () => {
    const w = world(retention({ maxAgeMs: 1_000 }))
    w.subscribe('b', 'watched')
    const watched = w.publish('a', 'watched', 'w1')
    w.advance(2_000)
    const after = w.restart()
    after.login('a', 'alice')
    after.login('b', 'bob')
    expect(after.subscribe('b', 'watched')).toEqual({ epoch: watched.epoch, offset: 1 })
    after.advance(10)
    expect(after.publish('a', 'watched', 'w2')).toEqual({ channelName: 'watched', offset: 2, epoch: watched.epoch })
    // When the last subscriber leaves, the emptied channel goes at the next tick.
    after.advance(2_000)
    after.ok('b', { op: 'unsubscribe', args: { channelName: 'watched' } })
    after.advance(10)
    expect(after.historyKeys()).toEqual([])
  })

  it('a restart restores a history of 200,000 messages (more than one spread argument list holds)', () => {
    const w = world()
    w.publishMany('a', 'room', 200)
    const room = w.allPages('a', 'room')
    // The store of 1,000 such channels: the same entries under other channel names (publishing them all takes seconds).
    const entries = [...w.store].flatMap(([key, value]) =>
      Array.from({ length: 1_000 }, (_, k) => ({ key: key.replace('/hist/m/room', `/hist/m/room${k}`), value })))
    const after = new World(w.config, w.now, entries)
    after.login('a', 'alice')
    expect(after.allPages('a', 'room0')).toEqual(room)
    expect(after.allPages('a', 'room999')).toEqual(room)
    expect(after.publish('a', 'room500', 'next')).toMatchObject({ offset: 201, epoch: w.subscribe('a', 'room').epoch })
  })
})

describe('the publish order index', () => {
  /** Entries of the app's publish-order index: memory is not observable through the API, so this one test peeks. */
  const indexSize = (w: World) => (w.coordinator.app('app')!.history as unknown as { order: unknown[] }).order.length

  it('5,000 messages into a channel keeping 10: only the newest 10 are readable, the index stays small, and age trimming still works', () => {
    const w = world(retention({ maxMessages: 10, maxAgeMs: 60_000 }))
    for (let i = 1; i <= 5_000; i++) {
      w.publish('a', 'room', `m${i}`)
      w.now += 1
    }
    expect(offsets(w.page('b', 'room'))).toEqual(down(5_000, 4_991))
    expect(w.historyKeys().filter((key) => key !== 'hist/m/room')).toHaveLength(10)
    expect(indexSize(w)).toBeLessThan(2_048)
    w.advance(30_000)
    w.publish('a', 'room', 'late')
    expect(deletes(w.writes)).toEqual(['hist/m/room/4991']) // trimmed by count
    w.advance(30_000)
    expect(deletes(w.writes)).toEqual(down(5_000, 4_992).reverse().map((n) => `hist/m/room/${n}`))
    expect(offsets(w.page('b', 'room'))).toEqual([5_001])
  })

  it('under age trimming alone (nothing trimmed by count) the index does not keep what is gone', () => {
    const w = world(retention({ maxAgeMs: 1_000 }))
    for (let i = 1; i <= 5_000; i++) {
      w.publish('a', 'room', `m${i}`)
      w.advance(100)
    }
    expect(w.page('b', 'room').count).toBe(9) // the last 1,000 ms: a message exactly maxAgeMs old is gone
    expect(indexSize(w)).toBeLessThan(2_048)
  })

  it('under byte eviction alone the index stays small too', () => {
    const w = world({ historyMaxBytes: 20 * 1000 })
    for (let i = 1; i <= 5_000; i++) w.publish('a', `c${i % 7}`, sized(1000))
    expect(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'].reduce((sum, name) => sum + w.page('a', name).count, 0)).toBe(20)
    expect(indexSize(w)).toBeLessThan(2_048)
  })
})
