import { explainError, userError, type UserError } from '../shared/errors'
import { isRtmError, type MessageEvent, type PublisherInfo, type RTM, type StreamChannel, type TopicEvent } from '../../sdk'
import { Actions } from '../shared/actions.svelte'

/** One message heard in a topic, with what its publisher said about itself when joining. */
export interface FeedEntry {
  id: number
  publisher: string
  publisherMeta: string
  text: string
  customType: string
  publishTime: number
}

/** A topic we publish in (joinTopic). */
export interface OwnTopic { topicName: string; meta: string; qos: 'ORDERED' | 'UNORDERED' }

/** Messages kept per topic in the feed; older ones scroll away. */
export const FEED_LIMIT = 200

/** A topic message's most bytes (seed 000: a stream channel carries 1 KB messages; engine MAX_TOPIC_MESSAGE_BYTES). */
export const TOPIC_MESSAGE_BYTES = 1024

/** How long `text` is on the wire, to count before sending. */
export function messageBytes(text: string): number {
  return new TextEncoder().encode(text).byteLength
}

/**
 * The Topics panel's state: one stream channel at a time — its topics and their
 * publishers (from topic events), the topics we publish in, whom we subscribed to, and a
 * live feed per topic.
 */
export class TopicsState {
  #channel = $state<StreamChannel | null>(null)
  // Keyed by topic name. Maps, so any name is an ordinary key (`__proto__` in a plain object is not); replaced, never mutated.
  #publishers = $state.raw<ReadonlyMap<string, PublisherInfo[]>>(new Map())
  #ownTopics = $state<OwnTopic[]>([])
  #subscribed = $state.raw<ReadonlyMap<string, string[]>>(new Map())
  #feeds = $state.raw<ReadonlyMap<string, FeedEntry[]>>(new Map())
  readonly #actions = new Actions()
  #nextId = 1
  readonly #offTopic: () => void
  readonly #offMessage: () => void

  constructor(private readonly rtm: RTM) {
    const onTopic = (event: TopicEvent) => this.#receiveTopic(event)
    const onMessage = (event: MessageEvent) => this.#receiveMessage(event)
    rtm.addEventListener('topic', onTopic)
    rtm.addEventListener('message', onMessage)
    this.#offTopic = () => rtm.removeEventListener('topic', onTopic)
    this.#offMessage = () => rtm.removeEventListener('message', onMessage)
  }

  get channelName(): string | null { return this.#channel?.channelName ?? null }
  get joined(): boolean { return this.#channel !== null }
  get error(): UserError | null { return this.#actions.error }
  get busy(): boolean { return this.#actions.busy }
  get ownTopics(): OwnTopic[] { return this.#ownTopics }
  /** Every topic of the channel that has publishers, and ours. */
  get topicNames(): string[] {
    return [...new Set([...this.#publishers.keys(), ...this.#ownTopics.map((topic) => topic.topicName)])].sort()
  }
  publishersOf(topicName: string): PublisherInfo[] { return this.#publishers.get(topicName) ?? [] }
  subscribedTo(topicName: string): string[] { return this.#subscribed.get(topicName) ?? [] }
  feedOf(topicName: string): FeedEntry[] { return this.#feeds.get(topicName) ?? [] }
  isPublisher(topicName: string): boolean { return this.#ownTopics.some((topic) => topic.topicName === topicName) }

  join(channelName: string): Promise<void> {
    return this.#actions.run(async () => {
      if (this.#channel) await this.#channel.release()
      this.#reset()
      const channel = this.rtm.createStreamChannel(channelName.trim())
      await channel.join({ withPresence: true, withMetadata: false, withLock: false })
      this.#channel = channel
    })
  }

  leave(): Promise<void> {
    return this.#actions.run(async () => {
      await this.#channel?.release()
      this.#channel = null
      this.#reset()
    })
  }

  joinTopic(topicName: string, meta: string, qos: OwnTopic['qos']): Promise<void> {
    return this.#actions.run(async () => {
      await this.#require().joinTopic(topicName.trim(), { meta, qos })
      this.#ownTopics = [...this.#ownTopics.filter((topic) => topic.topicName !== topicName.trim()), { topicName: topicName.trim(), meta, qos }]
    })
  }

  leaveTopic(topicName: string): Promise<void> {
    return this.#actions.run(async () => {
      await this.#require().leaveTopic(topicName)
      this.#ownTopics = this.#ownTopics.filter((topic) => topic.topicName !== topicName)
    })
  }

  publish(topicName: string, text: string, customType = ''): Promise<void> {
    return this.#actions.run(async () => {
      let timestamp: number
      try {
        ({ timestamp } = await this.#require().publishTopicMessage(topicName, text, { customType: customType || undefined }))
      } catch (error) {
        // The code's usual words are about chat messages (32 KB); a topic message holds 1 KB.
        if (!isRtmError(error) || error.name !== 'CHANNEL_MESSAGE_LENGTH_EXCEED_LIMITATION') throw error
        this.#actions.show({ message: `Message too long: ${messageBytes(text)} of ${TOPIC_MESSAGE_BYTES} bytes.`, action: 'Shorten it, or split it in two.', detail: explainError(error).detail })
        return
      }
      // The coordinator does not echo our own messages; the feed shows what we sent once it was accepted.
      const meta = this.#ownTopics.find((topic) => topic.topicName === topicName)?.meta ?? ''
      this.#append(topicName, { publisher: this.rtm.userId, publisherMeta: meta, text, customType, publishTime: timestamp })
    })
  }

  /** Subscribes to the picked publishers; those the coordinator refused are reported. */
  subscribe(topicName: string, users: string[]): Promise<void> {
    return this.#actions.run(async () => {
      const result = await this.#require().subscribeTopic(topicName, { users })
      this.#subscribed = new Map(this.#subscribed).set(topicName, [...new Set([...this.subscribedTo(topicName), ...result.succeedUsers])])
      if (result.failedUsers.length > 0) this.#actions.show(userError(`Could not follow ${result.failedUsers.join(', ')}.`, 'They may have stopped publishing here.'))
    })
  }

  unsubscribe(topicName: string, users: string[]): Promise<void> {
    return this.#actions.run(async () => {
      await this.#require().unsubscribeTopic(topicName, { users })
      this.#subscribed = new Map(this.#subscribed).set(topicName, this.subscribedTo(topicName).filter((user) => !users.includes(user)))
    })
  }

  destroy(): void {
    this.#offTopic()
    this.#offMessage()
    void this.#channel?.release().catch(() => undefined)
  }

  #receiveTopic(event: TopicEvent): void {
    if (event.channelName !== this.channelName) return
    const next = new Map(event.eventType === 'SNAPSHOT' ? [] : this.#publishers)
    for (const topic of event.topicInfos) {
      const named = topic.publishers.length > 0 ? topic.publishers.map((p) => p.publisherUserId) : [event.publisher]
      const kept = (next.get(topic.topicName) ?? []).filter((p) => !named.includes(p.publisherUserId))
      const publishers = event.eventType === 'REMOTE_LEAVE' ? kept : [...kept, ...topic.publishers]
      if (publishers.length > 0) next.set(topic.topicName, publishers)
      else next.delete(topic.topicName)
    }
    this.#publishers = next
  }

  #receiveMessage(event: MessageEvent): void {
    if (event.channelType !== 'STREAM' || event.channelName !== this.channelName) return
    const meta = this.publishersOf(event.topicName).find((p) => p.publisherUserId === event.publisher)?.publisherMeta ?? ''
    this.#append(event.topicName, {
      publisher: event.publisher, publisherMeta: meta, customType: event.customType, publishTime: event.publishTime,
      text: typeof event.message === 'string' ? event.message : `${event.message.byteLength} bytes`,
    })
  }

  #append(topicName: string, entry: Omit<FeedEntry, 'id'>): void {
    this.#feeds = new Map(this.#feeds).set(topicName, [...this.feedOf(topicName), { id: this.#nextId++, ...entry }].slice(-FEED_LIMIT))
  }

  #require(): StreamChannel {
    if (!this.#channel) throw new Error('Join a channel first.')
    return this.#channel
  }

  #reset(): void {
    this.#publishers = new Map()
    this.#ownTopics = []
    this.#subscribed = new Map()
    this.#feeds = new Map()
  }
}
