import { ChannelType, MessagePriority, MessageQos, TopicEventType } from '../protocol/enums'
import type { MessageEvent as WireMessage, ServerEvent } from '../protocol/events'
import type { RTM } from './client'
import { toTopicEvent, type WireTopicEvent } from './topic-storage-lock-events'

export interface JoinStreamOptions {
  token?: string
  withPresence?: boolean
  withMetadata?: boolean
  withLock?: boolean
  beQuiet?: boolean
}

export interface JoinTopicOptions {
  /** Shown to subscribers as `publisherMeta`; at most 256 bytes (seed 000, joinTopic). */
  meta?: string
  /** ORDERED: subscribers get this publisher's messages in send order, never twice. */
  qos?: keyof typeof MessageQos
  priority?: keyof typeof MessagePriority
  syncWithMedia?: boolean
}

export interface TopicMessageOptions { customType?: string }
export interface TopicOptions { users?: string[] }
export interface SubscribeTopicResult { timestamp: number; channelName: string; topicName: string; succeedUsers: string[]; failedUsers: string[] }

type Done = { timestamp: number; channelName: string }
type Core = Pick<RTM, 'request' | 'emit' | 'addRestorer' | 'wireHandlers' | 'connection' | 'seal'>

/** What one stream channel must get back after a coordinator lost our session. */
interface ChannelState {
  join: JoinStreamOptions | null
  topics: Map<string, JoinTopicOptions>
  /** Subscribed publishers per topic; `null` = "any publishers" (no `users` list). */
  subscriptions: Map<string, Set<string> | null>
  /**
   * Publishers of a restored subscription that were not back in the channel yet (a
   * coordinator restart brings everyone back in no set order), per topic: subscribed
   * again when they join the topic.
   */
  awaiting: Map<string, Set<string>>
}

/**
 * A stream channel (seed 000 "Channels", "Topics"): join it, join topics to publish,
 * subscribe to the publishers you want to hear.
 *
 * @example
 * const sc = rtm.createStreamChannel('stage')
 * await sc.join({ withPresence: true })
 * await sc.joinTopic('video-meta', { meta: 'cam 1', qos: 'ORDERED' })
 * await sc.subscribeTopic('video-meta', { users: ['bob'] })
 * await sc.publishTopicMessage('video-meta', 'frame 1')
 */
export class StreamChannel {
  /** @internal */
  readonly state: ChannelState = { join: null, topics: new Map(), subscriptions: new Map(), awaiting: new Map() }

  /** @internal use `rtm.createStreamChannel(name)` */
  constructor(readonly channelName: string, private readonly core: Core, private readonly onRelease: (channel: StreamChannel) => void) {}

  get joined(): boolean {
    return this.state.join !== null
  }

  async join(options: JoinStreamOptions = {}): Promise<Done> {
    const result = await this.core.request('joinStream', { ...options, channelName: this.channelName })
    this.state.join = options
    return { timestamp: result.timestamp, channelName: this.channelName }
  }

  /** Leaves the channel: we stop publishing to and hearing from all of its topics. */
  async leave(): Promise<Done> {
    const result = await this.core.request('leaveStream', { channelName: this.channelName })
    this.forget()
    return { timestamp: result.timestamp, channelName: this.channelName }
  }

  /** Drops this instance (leaving first if joined); `createStreamChannel` makes a new one. */
  async release(): Promise<void> {
    try {
      if (this.joined) await this.leave()
    } finally {
      this.forget()
      this.onRelease(this)
    }
  }

  /** Registers us as a publisher of `topicName` (at most 8 topics per channel). */
  async joinTopic(topicName: string, options: JoinTopicOptions = {}): Promise<Done & { topicName: string }> {
    const result = await this.core.request('joinTopic', toWireJoinTopic(this.channelName, topicName, options))
    this.state.topics.set(topicName, options)
    return { timestamp: result.timestamp, channelName: this.channelName, topicName }
  }

  async leaveTopic(topicName: string): Promise<Done & { topicName: string }> {
    const result = await this.core.request('leaveTopic', { channelName: this.channelName, topicName })
    this.state.topics.delete(topicName)
    return { timestamp: result.timestamp, channelName: this.channelName, topicName }
  }

  async publishTopicMessage(topicName: string, message: string | Uint8Array, options: TopicMessageOptions = {}): Promise<Done & { topicName: string }> {
    const result = await this.core.request('publishTopicMessage', {
      channelName: this.channelName, topicName, message: await this.core.seal(message), customType: options.customType,
    })
    return { timestamp: result.timestamp, channelName: this.channelName, topicName }
  }

  /** Adds publishers to hear in `topicName` (incremental); without `users`, up to 64 of its publishers. */
  async subscribeTopic(topicName: string, options: TopicOptions = {}): Promise<SubscribeTopicResult> {
    const result = await this.core.request('subscribeTopic', { channelName: this.channelName, topicName, ...options })
    const succeedUsers = (result.succeedUsers ?? []) as string[]
    const failedUsers = (result.failedUsers ?? []) as string[]
    const current = this.state.subscriptions.get(topicName)
    if (!options.users) this.state.subscriptions.set(topicName, null)
    else if (current !== null) this.state.subscriptions.set(topicName, new Set([...(current ?? []), ...succeedUsers]))
    return { timestamp: result.timestamp, channelName: this.channelName, topicName, succeedUsers, failedUsers }
  }

  /** Stops hearing `users` in `topicName`, or the whole topic without `users`. */
  async unsubscribeTopic(topicName: string, options: TopicOptions = {}): Promise<Done & { topicName: string }> {
    const result = await this.core.request('unsubscribeTopic', { channelName: this.channelName, topicName, ...options })
    const current = this.state.subscriptions.get(topicName)
    if (!options.users) {
      this.state.subscriptions.delete(topicName)
      this.state.awaiting.delete(topicName)
    } else if (current) {
      for (const user of options.users) {
        current.delete(user)
        this.state.awaiting.get(topicName)?.delete(user)
      }
      // The coordinator drops a subscription with nobody left in it; so do we.
      if (current.size === 0) this.state.subscriptions.delete(topicName)
    }
    return { timestamp: result.timestamp, channelName: this.channelName, topicName }
  }

  /** @internal the coordinator no longer has us in this channel (leave, logout). */
  forget(): void {
    this.state.join = null
    this.state.topics.clear()
    this.state.subscriptions.clear()
    this.state.awaiting.clear()
  }
}

/**
 * The client's stream channels: creates them, turns topic events into SDK events,
 * keeps ordered topics ordered, and puts channels, topics and subscriptions back after a
 * coordinator lost our session.
 */
export class StreamChannels {
  private readonly channels = new Map<string, StreamChannel>()
  /** Highest `seq` seen per channel/topic/publisher: an ordered topic never goes back or repeats. */
  private readonly lastSeq = new Map<string, number>()
  private readonly unregister: () => void

  constructor(private readonly core: Core) {
    core.wireHandlers.set('topic', (event: ServerEvent) => this.receiveTopicEvent(event as WireTopicEvent))
    this.unregister = core.addRestorer((resumed) => this.restore(resumed))
  }

  /** The instance for `channelName` (the same one until released). */
  create(channelName: string): StreamChannel {
    let channel = this.channels.get(channelName)
    if (!channel) {
      channel = new StreamChannel(channelName, this.core, (released) => {
        if (this.channels.get(channelName) === released) this.channels.delete(channelName)
      })
      this.channels.set(channelName, channel)
    }
    return channel
  }

  /**
   * False for a topic message that an ordered topic already delivered or overtook (a
   * request resent after a reconnect). Messages without a `seq` pass unchanged.
   */
  accepts(wire: WireMessage): boolean {
    const seq = wire.seq
    if (wire.channelType !== ChannelType.STREAM || typeof seq !== 'number') return true
    const key = orderKey(wire.channelName, wire.topicName, wire.publisher)
    const last = this.lastSeq.get(key)
    if (last !== undefined && seq <= last) return false
    this.lastSeq.set(key, seq)
    return true
  }

  /** After logout: every channel counts as not joined, so nothing is restored into a later session. */
  forgetAll(): void {
    for (const channel of this.channels.values()) channel.forget()
    this.lastSeq.clear()
  }

  destroy(): void {
    this.unregister()
    this.core.wireHandlers.delete('topic')
    this.channels.clear()
  }

  private receiveTopicEvent(wire: WireTopicEvent): void {
    // A publisher that joins a topic again starts a new sequence.
    if (wire.eventType === TopicEventType.REMOTE_JOIN || wire.eventType === TopicEventType.REMOTE_LEAVE) {
      for (const topic of wire.topicInfos) this.lastSeq.delete(orderKey(wire.channelName, topic.topicName, wire.publisher))
    }
    if (wire.eventType === TopicEventType.REMOTE_JOIN) this.resubscribeAwaited(wire)
    this.core.emit('topic', toTopicEvent(wire))
  }

  /** A publisher we could not subscribe to on restore has joined a topic: subscribe now. */
  private resubscribeAwaited(wire: WireTopicEvent): void {
    const awaiting = this.channels.get(wire.channelName)?.state.awaiting
    for (const { topicName } of wire.topicInfos) {
      if (!awaiting?.get(topicName)?.delete(wire.publisher)) continue
      const users = [wire.publisher]
      // Sent before the event reaches the app, so a request the app sends after it is answered later.
      void this.core.request('subscribeTopic', { channelName: wire.channelName, topicName, users }).catch(() => undefined)
    }
  }

  private async restore(resumed: boolean): Promise<string[]> {
    if (resumed) return []
    const unrestored: string[] = []
    const send = (op: string, args: Record<string, unknown>) => this.core.connection.requestNow(op, args)
    for (const channel of this.channels.values()) {
      const { join, topics, subscriptions, awaiting } = channel.state
      if (!join) continue
      awaiting.clear()
      for (const key of [...this.lastSeq.keys()]) if (key.startsWith(`${channel.channelName}\u0000`)) this.lastSeq.delete(key)
      try {
        await send('joinStream', { ...join, channelName: channel.channelName })
        for (const [topicName, options] of topics) await send('joinTopic', toWireJoinTopic(channel.channelName, topicName, options))
        for (const [topicName, users] of subscriptions) {
          const result = await send('subscribeTopic', { channelName: channel.channelName, topicName, ...(users ? { users: [...users] } : {}) })
          const failed = (result.failedUsers ?? []) as string[]
          if (failed.length) awaiting.set(topicName, new Set(failed))
        }
      } catch {
        unrestored.push(channel.channelName)
      }
    }
    return unrestored
  }
}

function toWireJoinTopic(channelName: string, topicName: string, options: JoinTopicOptions): Record<string, unknown> {
  return {
    channelName, topicName, meta: options.meta, syncWithMedia: options.syncWithMedia,
    qos: MessageQos[options.qos ?? 'UNORDERED'], priority: MessagePriority[options.priority ?? 'NORMAL'],
  }
}

function orderKey(channelName: string, topicName: string, publisher: string): string {
  return `${channelName}\u0000${topicName}\u0000${publisher}`
}
