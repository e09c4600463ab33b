import { ChannelType, MessageType } from '../protocol/enums'
import { rtmError, type RtmErrorInfo } from '../protocol/errors'
import type { MessageEvent } from '../protocol/events'
import { keyPart } from './context'
import type { Effects, Write } from './effects'
import type { SharedQuota } from './quota'
import { byteLength } from './validate'

/** Retention of one app's history (issue 16 defaults: 1,000 messages per channel, 24 h). */
export interface Retention {
  /** Messages kept per channel (a user channel: per conversation). */
  maxMessages: number
  maxAgeMs: number
}

export const DEFAULT_RETENTION: Retention = { maxMessages: 1000, maxAgeMs: 24 * 3_600_000 }
/** Agora RTM's getMessages pages at most 100 messages. */
export const MAX_PAGE_MESSAGES = 100
/** One recovery reply carries at most this many messages. */
export const RECOVERY_PAGE_MESSAGES = 100
/** A history or recovery reply stops at this many bytes (a 32 KB message always fits), well below the 4 MiB outbound cap. */
export const PAGE_BYTES = 1024 * 1024
/** What one app's history may hold in memory and in the store; the oldest message anywhere in the app goes first. */
export const MAX_APP_HISTORY_BYTES = 64 * 1024 * 1024
/** Accounted per stored message beside its payload: offsets, timestamps, keys. */
export const MESSAGE_OVERHEAD_BYTES = 96

/** Between the two user ids of a conversation: not a character names may contain. */
const PAIR_SEPARATOR = '\n'

/** A history stream: a message channel's, or the conversation of two users. */
export interface StreamRef { kind: 'm' | 'u'; id: string }

interface StoredMessage {
  offset: number
  timestamp: number
  publisher: string
  customType: string
  messageType: number
  message: string | Uint8Array
  bytes: number
}

interface Stream {
  ref: StreamRef
  /** `hist/<m|u>/<escaped id>`; messages are `<storeKey>/<offset>`. */
  storeKey: string
  epoch: string
  /** The offset the next stored message takes; offsets start at 1 and never repeat within an epoch. */
  nextOffset: number
  /** Ascending by offset and by timestamp (a stream's timestamps are distinct). */
  messages: StoredMessage[]
}

/** A page of getMessages, in Agora RTM's shape. */
export interface HistoryPage {
  messageList: { message: string | Uint8Array; messageType: number; publisher: string; customType: string; timestamp: number; offset: number }[]
  count: number
  newStart: number
}

/** What a client missed since its last offset. */
export interface Recovery {
  epoch: string
  /** The stream's last offset (0: nothing stored yet). */
  offset: number
  /** false: some of what was missed is gone (trimmed, or the history was lost: another epoch). */
  recovered: boolean
  messages: StoredMessage[]
  /** More than one reply holds: ask again from the last message's offset. */
  more: boolean
}

/**
 * Message history of one app (issue 16): per stream an epoch and increasing offsets,
 * trimmed by count and age per stream and by bytes across the app and across apps.
 *
 * Everything is in memory (as metadata is) and mirrored to the durable store, one entry per
 * message plus one per stream: `hist/<m|u>/<id>` → `{ epoch, offset }` and
 * `hist/<m|u>/<id>/<offset>` → the message. A stream's epoch is its creation time in base 36:
 * a stream whose history was lost (emptied by age with nobody subscribed, or a store that
 * was wiped) starts again under a new epoch, which is how a client learns its offset no
 * longer means anything.
 */
export class History {
  private readonly streams = new Map<string, Stream>()
  /** Stored messages in publish order, for age and byte trimming; entries already trimmed by count are skipped. */
  private readonly order: { stream: Stream; offset: number; timestamp: number }[] = []
  private orderHead = 0
  /** Streams with no message left, kept while someone is subscribed to them so their offsets stay valid. */
  private readonly emptyStreams = new Set<Stream>()
  private bytes = 0
  private messageCount = 0

  constructor(
    private readonly retention: Retention,
    private readonly quota: SharedQuota['historyBytes'],
    /** Whether a message channel has members (an emptied stream is kept while it does). */
    private readonly isWatched: (channelName: string) => boolean,
  ) {}

  get isEmpty(): boolean {
    return this.streams.size === 0
  }

  /** The stream's epoch and last offset; `epoch: ''` when it has no history. */
  head(ref: StreamRef): { epoch: string; offset: number } {
    const stream = this.streams.get(streamKey(ref))
    return stream ? { epoch: stream.epoch, offset: stream.nextOffset - 1 } : { epoch: '', offset: 0 }
  }

  /**
   * Stores a message. Its timestamp is `now`, or 1 ms after the stream's last one, so that a
   * timestamp is an exact paging cursor. Errors when the stores of all apps are full.
   */
  append(ref: StreamRef, input: Omit<StoredMessage, 'offset' | 'timestamp' | 'bytes'>, fx: Effects, now: number, op: string): { epoch: string; offset: number; timestamp: number } | RtmErrorInfo {
    const bytes = byteLength(input.message) + input.customType.length + input.publisher.length + MESSAGE_OVERHEAD_BYTES
    // Room made in this channel first, so a full app does not also evict another channel's message.
    const existing = this.streams.get(streamKey(ref))
    while (existing && existing.messages.length >= this.retention.maxMessages) this.removeFirst(existing, fx)
    while (this.bytes + bytes > MAX_APP_HISTORY_BYTES || this.quota.used + bytes > this.quota.limit) {
      if (!this.dropOldest(fx)) return rtmError('CHANNEL_PUBLISH_MESSAGE_FAILED', op, 'the message history store is full; publish without storeInHistory')
    }
    const stream = this.streamFor(ref, fx, now)
    const last = stream.messages.at(-1)
    const message: StoredMessage = { ...input, offset: stream.nextOffset++, timestamp: Math.max(now, (last?.timestamp ?? 0) + 1), bytes }
    stream.messages.push(message)
    this.emptyStreams.delete(stream)
    this.account(message, 1)
    this.order.push({ stream, offset: message.offset, timestamp: message.timestamp })
    fx.write(`${stream.storeKey}/${message.offset}`, encodeMessage(message))
    this.compactOrder()
    return { epoch: stream.epoch, offset: message.offset, timestamp: message.timestamp }
  }

  /**
   * Agora RTM's getMessages: messages with `end ≤ timestamp ≤ start` (0: unbounded), newest
   * first, at most `messageCount` (and PAGE_BYTES); `newStart` is the timestamp to pass as `start` for the
   * next older page, 0 when there is none.
   */
  page(ref: StreamRef, messageCount: number, start: number, end: number): HistoryPage {
    const messages = this.streams.get(streamKey(ref))?.messages ?? []
    let index = start > 0 ? lastAtOrBefore(messages, start) : messages.length - 1
    const messageList: HistoryPage['messageList'] = []
    let bytes = 0
    while (index >= 0 && messageList.length < messageCount && messages[index].timestamp >= end) {
      if (messageList.length > 0 && bytes + messages[index].bytes > PAGE_BYTES) break
      const { message, messageType, publisher, customType, timestamp, offset } = messages[index--]
      bytes += messages[index + 1].bytes
      messageList.push({ message, messageType, publisher, customType, timestamp, offset })
    }
    const next = index >= 0 && messages[index].timestamp >= end ? messages[index].timestamp : 0
    return { messageList, count: messageList.length, newStart: next }
  }

  /** What came after `offset` in `epoch`, oldest first, one reply's worth. */
  since(ref: StreamRef, epoch: string, offset: number): Recovery {
    const stream = this.streams.get(streamKey(ref))
    if (!stream) return { epoch: '', offset: 0, recovered: epoch === '' || offset === 0, messages: [], more: false }
    const head = stream.nextOffset - 1
    // Another epoch: the client saw none of this one (a delivered message would have moved it here),
    // so all of it is missed; what it missed of its own epoch is gone. '' never saw a stored message.
    const sameEpoch = epoch === stream.epoch
    const from = sameEpoch ? offset : 0
    const first = stream.messages.findIndex((message) => message.offset > from)
    const missed = first < 0 ? [] : stream.messages.slice(first)
    const recovered = (sameEpoch || epoch === '') && (from >= head || (missed[0]?.offset ?? head + 1) === from + 1)
    const messages: StoredMessage[] = []
    let bytes = 0
    for (const message of missed) {
      if (messages.length === RECOVERY_PAGE_MESSAGES || (messages.length > 0 && bytes + message.bytes > PAGE_BYTES)) break
      messages.push(message)
      bytes += message.bytes
    }
    return { epoch: stream.epoch, offset: head, recovered, messages, more: messages.length < missed.length }
  }

  /** Age trimming, and dropping emptied streams nobody follows any more. */
  tick(fx: Effects, now: number): void {
    while (this.dropOldest(fx, now - this.retention.maxAgeMs));
    for (const stream of this.emptyStreams) if (!this.watched(stream)) this.dropStream(stream, fx)
  }

  /** One durable entry of this app's history (`hist/...`); call `restored()` after the last. */
  restore(entry: Write): void {
    const parts = entry.key.split('/')
    const kind = parts[1]
    if (kind !== 'm' && kind !== 'u') return
    const idParts = kind === 'm' ? 1 : 2
    const id = parts.slice(2, 2 + idParts).map(decodeURIComponent).join(PAIR_SEPARATOR)
    const stream = this.streamAt({ kind, id })
    if (parts.length === 2 + idParts) {
      const head = entry.value as { epoch?: unknown; offset?: unknown }
      if (typeof head.epoch === 'string') stream.epoch = head.epoch
      if (typeof head.offset === 'number') stream.nextOffset = Math.max(stream.nextOffset, head.offset + 1)
      return
    }
    const message = decodeMessage(entry.value)
    if (!message) return
    stream.messages.push(message)
    stream.nextOffset = Math.max(stream.nextOffset, message.offset + 1)
  }

  /** After the last `restore`: messages in order, the publish order rebuilt, the bytes counted. */
  restored(): void {
    const all: { stream: Stream; offset: number; timestamp: number }[] = []
    for (const stream of this.streams.values()) {
      stream.messages.sort((a, b) => a.offset - b.offset)
      for (const message of stream.messages) {
        this.account(message, 1)
        all.push({ stream, offset: message.offset, timestamp: message.timestamp })
      }
      if (stream.messages.length === 0) this.emptyStreams.add(stream)
    }
    all.sort((a, b) => a.timestamp - b.timestamp)
    // One push per entry: spreading a list this long (an app may hold ~150k+ messages) overflows the call stack.
    for (const entry of all) this.order.push(entry)
  }

  private streamFor(ref: StreamRef, fx: Effects, now: number): Stream {
    const existing = this.streams.get(streamKey(ref))
    if (existing) return existing
    const stream = this.streamAt(ref)
    stream.epoch = now.toString(36)
    fx.write(stream.storeKey, { epoch: stream.epoch, offset: 0 })
    return stream
  }

  private streamAt(ref: StreamRef): Stream {
    const key = streamKey(ref)
    let stream = this.streams.get(key)
    if (!stream) {
      const storeKey = `hist/${ref.kind}/${ref.id.split(PAIR_SEPARATOR).map(keyPart).join('/')}`
      stream = { ref, storeKey, epoch: '', nextOffset: 1, messages: [] }
      this.streams.set(key, stream)
    }
    return stream
  }

  /** Removes the oldest stored message of the app (if stored at or before `notAfter`); false when there is none. */
  private dropOldest(fx: Effects, notAfter = Infinity): boolean {
    for (; this.orderHead < this.order.length; this.orderHead++) {
      const { stream, offset, timestamp } = this.order[this.orderHead]
      if (stream.messages[0]?.offset !== offset || this.streams.get(streamKey(stream.ref)) !== stream) continue
      if (timestamp > notAfter) return false
      this.orderHead++
      this.removeFirst(stream, fx)
      if (stream.messages.length === 0) {
        if (this.watched(stream)) {
          // Kept so that subscribers' offsets stay valid; its last offset now lives in the stream entry.
          this.emptyStreams.add(stream)
          fx.write(stream.storeKey, { epoch: stream.epoch, offset: stream.nextOffset - 1 })
        } else this.dropStream(stream, fx)
      }
      this.compactOrder()
      return true
    }
    return false
  }

  private removeFirst(stream: Stream, fx: Effects): void {
    const message = stream.messages.shift()!
    this.account(message, -1)
    fx.write(`${stream.storeKey}/${message.offset}`, null)
  }

  private dropStream(stream: Stream, fx: Effects): void {
    for (let n = stream.messages.length; n > 0; n--) this.removeFirst(stream, fx)
    this.emptyStreams.delete(stream)
    this.streams.delete(streamKey(stream.ref))
    fx.write(stream.storeKey, null)
  }

  private watched(stream: Stream): boolean {
    return stream.ref.kind === 'm' && this.isWatched(stream.ref.id)
  }

  private account(message: StoredMessage, sign: 1 | -1): void {
    this.bytes += sign * message.bytes
    this.quota.used += sign * message.bytes
    this.messageCount += sign
  }

  /** The publish order also holds entries trimmed by count; dropped once they outnumber live messages. */
  private compactOrder(): void {
    // The consumed head counts too: under age or byte trimming alone the live part stays small while the array grows.
    const length = this.order.length
    if (length < 1024 || length <= 2 * this.messageCount) return
    const live = this.order.slice(this.orderHead).filter(({ stream, offset }) =>
      this.streams.get(streamKey(stream.ref)) === stream && stream.messages.length > 0 && offset >= stream.messages[0].offset)
    this.order.length = 0
    for (const entry of live) this.order.push(entry)
    this.orderHead = 0
  }
}

/** A message channel's stream, or the conversation of two users (the same for both of them). */
export function streamOf(channelType: number, channelName: string, userId: string): StreamRef {
  if (channelType !== ChannelType.USER) return { kind: 'm', id: channelName }
  const [a, b] = [userId, channelName].sort()
  return { kind: 'u', id: `${a}${PAIR_SEPARATOR}${b}` }
}

/** A stored message as a live message event of its channel, seen by `receiver`. */
export function toMessageEvent(message: StoredMessage, ref: StreamRef, epoch: string, receiver: string): MessageEvent {
  const [a, b] = ref.id.split(PAIR_SEPARATOR)
  return {
    kind: 'message', channelType: ref.kind === 'm' ? ChannelType.MESSAGE : ChannelType.USER,
    // A user channel is named after the other user (seed 000 "User Channel").
    channelName: ref.kind === 'm' ? ref.id : a === receiver ? b : a,
    topicName: '', messageType: message.messageType, customType: message.customType, message: message.message,
    publisher: message.publisher, publishTime: message.timestamp, timestamp: message.timestamp, offset: message.offset, epoch,
  }
}

function streamKey(ref: StreamRef): string {
  return `${ref.kind}:${ref.id}`
}

function lastAtOrBefore(messages: StoredMessage[], timestamp: number): number {
  let low = 0
  let high = messages.length - 1
  let found = -1
  while (low <= high) {
    const middle = (low + high) >> 1
    if (messages[middle].timestamp <= timestamp) {
      found = middle
      low = middle + 1
    } else high = middle - 1
  }
  return found
}

/** Stored as JSON-safe values (SQLite keeps JSON text): bytes as base64. */
function encodeMessage(message: StoredMessage): Record<string, unknown> {
  const binary = typeof message.message !== 'string'
  return {
    o: message.offset, t: message.timestamp, p: message.publisher, c: message.customType, y: message.messageType,
    m: binary ? toBase64(message.message as Uint8Array) : message.message, ...(binary ? { b: 1 } : {}),
  }
}

function decodeMessage(value: unknown): StoredMessage | null {
  const v = value as Record<string, unknown> | null
  if (!v || typeof v.o !== 'number' || typeof v.t !== 'number' || typeof v.p !== 'string' || typeof v.m !== 'string') return null
  const message = v.b === 1 ? fromBase64(v.m) : v.m
  const customType = typeof v.c === 'string' ? v.c : ''
  const messageType = typeof v.y === 'number' ? v.y : typeof message === 'string' ? MessageType.STRING : MessageType.BINARY
  return {
    offset: v.o, timestamp: v.t, publisher: v.p, customType, messageType, message,
    bytes: byteLength(message) + customType.length + v.p.length + MESSAGE_OVERHEAD_BYTES,
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
