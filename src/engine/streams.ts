import { ChannelType, MessageQos, MessageType, TopicEventType } from '../protocol/enums'
import { isRtmError, rtmError, type RtmErrorInfo } from '../protocol/errors'
import type { TopicInfo } from '../protocol/events'
import type { StreamOp } from '../protocol/feature-requests'
import type { ArgsOf, Request } from '../protocol/requests'
import type { EngineContext, Outcome } from './context'
import type { ConnId, Effects } from './effects'
import { channelKey, type Channel, type Session } from './model'
import { byteLength, isValidName } from './validate'

/**
 * Limits of stream channels and topics. Seed numbers: 8 joined topics per channel, 50
 * subscribed topics per channel and 64 publishers per subscribed topic ("joinTopic",
 * "subscribeTopic"), 256-byte topic meta (-11018), 1 KB messages (-11010), 32-character
 * customType (-11029). Ours: stream channels per user (as message channels) and distinct
 * topics per channel (-11015, so a channel's topic table stays bounded).
 */
export const MAX_JOINED_TOPICS = 8
export const MAX_SUBSCRIBED_TOPICS = 50
export const MAX_PUBLISHERS_PER_SUBSCRIPTION = 64
export const MAX_TOPIC_META_BYTES = 256
export const MAX_TOPIC_MESSAGE_BYTES = 1024
export const MAX_TOPIC_CUSTOM_TYPE_LENGTH = 32
export const MAX_STREAM_CHANNELS = 50
export const MAX_TOPICS_PER_CHANNEL = 256

export type StreamRequest = Extract<Request, { op: StreamOp }>

interface Publisher { session: Session; meta: string; qos: number; priority: number; lastRequestId: number }
/** One subscriber's interest in a topic: named publishers, or (no `users` given) every publisher up to 64. */
interface Subscription { session: Session; publishers: Set<string>; followsAll: boolean }
interface Topic { name: string; publishers: Map<string, Publisher>; subscriptions: Map<string, Subscription> }

/** Called after a stream join, for the storage and lock snapshots the member asked for. */
export type EnteredHook = (session: Session, type: 1 | 2, name: string, fx: Effects, now: number) => void

/** Stream channels and their topics (seed 000 "Channels" → stream channel, "Topics") for one app. */
export class Streams {
  /** Stream channel name → topic name → topic. Emptied topics and channels are dropped. */
  private readonly topics = new Map<string, Map<string, Topic>>()
  /** One counter for every topic message: seq never repeats, even after leave and re-join. */
  private seq = 0

  constructor(private readonly ctx: EngineContext, private readonly entered: EnteredHook) {}

  handle(session: Session, request: StreamRequest, requestId: number, fx: Effects, now: number): Outcome {
    const op = request.op
    if (op === 'joinStream') return this.join(session, request.args, fx, now)
    const { channelName } = request.args
    const key = channelKey(ChannelType.STREAM, channelName)
    if (!session.memberships.has(key)) return rtmError('CHANNEL_NOT_JOINED', op, `join stream channel "${channelName}" first`)
    switch (op) {
      case 'leaveStream':
        this.ctx.presence.exit(session, key, 'REMOTE_LEAVE', fx, now)
        return { channelName }
      case 'joinTopic': return this.joinTopic(session, request.args, fx, now)
      case 'leaveTopic': {
        const topic = this.topic(channelName, request.args.topicName)
        if (!topic?.publishers.has(session.userId)) return rtmError('CHANNEL_TOPIC_NOT_JOINED', op, `topic "${request.args.topicName}" is not joined`)
        this.removePublisher(channelName, topic, session, fx, now)
        return { channelName, topicName: topic.name }
      }
      case 'publishTopicMessage': return this.publish(session, request.args, requestId, fx, now)
      case 'subscribeTopic': return this.subscribe(session, request.args)
      case 'unsubscribeTopic': {
        const { topicName, users } = request.args
        const topic = this.topic(channelName, topicName)
        const subscription = topic?.subscriptions.get(session.userId)
        if (!topic || !subscription) return rtmError('CHANNEL_TOPIC_NOT_SUBSCRIBED', op, `topic "${topicName}" is not subscribed`)
        if (users) {
          for (const user of users) subscription.publishers.delete(user)
          // Naming publishers to drop ends "every publisher" mode: they must not come back on their own.
          subscription.followsAll = false
        }
        if (!users || subscription.publishers.size === 0) topic.subscriptions.delete(session.userId)
        this.dropIfEmpty(channelName, topic)
        return { channelName, topicName }
      }
      default: {
        const unhandled: never = op
        return rtmError('INVALID_PARAMETER', unhandled, 'operation not supported')
      }
    }
  }

  /** A membership of a stream channel ended (leave, timeout, logout): the user stops publishing and listening there. */
  exited(session: Session, channel: Channel, fx: Effects, now: number): void {
    if (channel.type !== ChannelType.STREAM) return
    const topics = this.topics.get(channel.name)
    if (!topics) return
    for (const topic of [...topics.values()]) {
      if (topic.subscriptions.get(session.userId)?.session === session) topic.subscriptions.delete(session.userId)
      if (topic.publishers.get(session.userId)?.session === session) this.removePublisher(channel.name, topic, session, fx, now)
      else this.dropIfEmpty(channel.name, topic)
    }
  }

  get isEmpty(): boolean {
    return this.topics.size === 0
  }

  private join(session: Session, args: ArgsOf<'joinStream'>, fx: Effects, now: number): Outcome {
    const op = 'joinStream'
    const { channelName } = args
    if (!isValidName(channelName)) return rtmError('INVALID_CHANNEL_NAME', op, 'channel names are 1–64 printable ASCII characters')
    const key = channelKey(ChannelType.STREAM, channelName)
    const joined = [...session.memberships.values()].filter((m) => m.channel.type === ChannelType.STREAM).length
    if (!session.memberships.has(key) && joined >= MAX_STREAM_CHANNELS) {
      return rtmError('CHANNEL_INSTANCE_EXCEED_LIMITATION', op, `at most ${MAX_STREAM_CHANNELS} joined stream channels`)
    }
    // The RTC token of JoinChannelOptions is not checked: the login token already identifies the user.
    this.ctx.presence.enter(session, ChannelType.STREAM, channelName, {
      withMessage: true,
      withPresence: args.withPresence ?? true,
      withMetadata: args.withMetadata ?? false,
      withLock: args.withLock ?? false,
      beQuiet: args.beQuiet ?? false,
    }, fx, now)
    // Seed 000 "join": the local user gets the topic SNAPSHOT.
    if (session.connId) {
      const topicInfos = [...(this.topics.get(channelName)?.values() ?? [])]
        .filter((topic) => topic.publishers.size > 0)
        .map((topic) => info(topic.name, [...topic.publishers]))
      fx.send(session.connId, { kind: 'topic', eventType: TopicEventType.SNAPSHOT, channelName, publisher: '', topicInfos, totalTopics: topicInfos.length, timestamp: now })
    }
    this.entered(session, ChannelType.STREAM, channelName, fx, now)
    return { channelName }
  }

  private joinTopic(session: Session, args: ArgsOf<'joinTopic'>, fx: Effects, now: number): Outcome {
    const op = 'joinTopic'
    const { channelName, topicName } = args
    if (!isValidName(topicName)) return rtmError('CHANNEL_INVALID_TOPIC_NAME', op, 'topic names are 1–64 printable ASCII characters')
    const meta = args.meta ?? ''
    const metaBytes = byteLength(meta)
    if (metaBytes > MAX_TOPIC_META_BYTES) return rtmError('CHANNEL_INVALID_TOPIC_META', op, `topic meta is ${metaBytes} bytes; at most ${MAX_TOPIC_META_BYTES}`)
    const topic = this.topicFor(session, channelName, topicName, 'publishers', op)
    if (isRtmError(topic)) return topic
    const existing = topic.publishers.get(session.userId)
    const qos = args.qos ?? MessageQos.UNORDERED
    const priority = args.priority ?? 4
    if (existing) {
      const metaChanged = existing.meta !== meta
      Object.assign(existing, { meta, qos, priority })
      if (metaChanged) this.announce(channelName, topic, session, 'REMOTE_JOIN', fx, now)
      return { channelName, topicName }
    }
    topic.publishers.set(session.userId, { session, meta, qos, priority, lastRequestId: -1 })
    // Subscribers that asked for "every publisher" hear a new one, up to the 64 limit.
    for (const subscription of topic.subscriptions.values()) {
      if (subscription.followsAll && subscription.session !== session && subscription.publishers.size < MAX_PUBLISHERS_PER_SUBSCRIPTION) {
        subscription.publishers.add(session.userId)
      }
    }
    this.announce(channelName, topic, session, 'REMOTE_JOIN', fx, now)
    return { channelName, topicName }
  }

  private publish(session: Session, args: ArgsOf<'publishTopicMessage'>, requestId: number, fx: Effects, now: number): Outcome {
    const op = 'publishTopicMessage'
    const { channelName, topicName, message } = args
    const topic = this.topic(channelName, topicName)
    const publisher = topic?.publishers.get(session.userId)
    if (!topic || !publisher) return rtmError('CHANNEL_TOPIC_NOT_JOINED', op, `join topic "${topicName}" before publishing to it`)
    const customType = args.customType ?? ''
    if (customType.length > MAX_TOPIC_CUSTOM_TYPE_LENGTH) return rtmError('CHANNEL_CUSTOM_TYPE_LENGTH_OVERFLOW', op, `customType has ${customType.length} characters; at most ${MAX_TOPIC_CUSTOM_TYPE_LENGTH}`)
    const size = byteLength(message)
    if (size > MAX_TOPIC_MESSAGE_BYTES) return rtmError('CHANNEL_MESSAGE_LENGTH_EXCEED_LIMITATION', op, `payload is ${size} bytes; a stream channel carries at most ${MAX_TOPIC_MESSAGE_BYTES}`)
    const result = { channelName, topicName }
    // Request ids grow per client: on an ordered topic an older id can only be a resend whose
    // reply fell out of the reply cache. Acknowledge it without delivering it again.
    if (publisher.qos === MessageQos.ORDERED) {
      if (requestId <= publisher.lastRequestId) return result
      publisher.lastRequestId = requestId
    }
    const to: ConnId[] = []
    for (const subscription of topic.subscriptions.values()) {
      if (subscription.session.connId && subscription.publishers.has(session.userId)) to.push(subscription.session.connId)
    }
    fx.send(to, {
      kind: 'message', channelType: ChannelType.STREAM, channelName, topicName,
      messageType: typeof message === 'string' ? MessageType.STRING : MessageType.BINARY,
      customType, message, publisher: session.userId, publishTime: now, timestamp: now, seq: ++this.seq,
    })
    return result
  }

  private subscribe(session: Session, args: ArgsOf<'subscribeTopic'>): Outcome {
    const op = 'subscribeTopic'
    const { channelName, topicName, users } = args
    if (!isValidName(topicName)) return rtmError('CHANNEL_INVALID_TOPIC_NAME', op, 'topic names are 1–64 printable ASCII characters')
    if (users && users.length === 0) return rtmError('CHANNEL_INVALID_USER_LIST', op, 'users is empty; leave it out to subscribe to every publisher')
    const topic = this.topicFor(session, channelName, topicName, 'subscriptions', op)
    if (isRtmError(topic)) return topic
    const current = topic.subscriptions.get(session.userId)
    const subscription = current ?? { session, publishers: new Set<string>(), followsAll: false }
    const wanted = users ?? [...topic.publishers.keys()].filter((user) => user !== session.userId)
    if (!users) subscription.followsAll = true
    const members = this.ctx.presence.channels.get(channelKey(ChannelType.STREAM, channelName))?.members
    const succeedUsers: string[] = []
    const failedUsers: string[] = []
    let overLimit = false
    for (const user of new Set(wanted)) {
      // A publisher can be picked ahead of joining the topic, but must be in the channel.
      const known = isValidName(user) && (topic.publishers.has(user) || members?.has(user) === true)
      if (subscription.publishers.has(user)) succeedUsers.push(user)
      else if (!known) failedUsers.push(user)
      else if (subscription.publishers.size >= MAX_PUBLISHERS_PER_SUBSCRIPTION) {
        failedUsers.push(user)
        overLimit = true
      } else {
        subscription.publishers.add(user)
        succeedUsers.push(user)
      }
    }
    if (overLimit && succeedUsers.length === 0) {
      if (!current) this.dropIfEmpty(channelName, topic)
      return rtmError('CHANNEL_EXCEED_TOPIC_USER_LIMITATION', op, `at most ${MAX_PUBLISHERS_PER_SUBSCRIPTION} publishers per subscribed topic`)
    }
    topic.subscriptions.set(session.userId, subscription)
    return { channelName, topicName, succeedUsers, failedUsers }
  }

  /**
   * The topic a join (`publishers`) or subscribe (`subscriptions`) works on, created when
   * new; refused when the user would be in too many topics that way, or the channel would
   * have too many topics.
   */
  private topicFor(session: Session, channelName: string, topicName: string, role: 'publishers' | 'subscriptions', op: string): Topic | RtmErrorInfo {
    const topics = this.topics.get(channelName) ?? new Map<string, Topic>()
    if (!topics.get(topicName)?.[role].has(session.userId)) {
      const [max, doing] = role === 'publishers' ? [MAX_JOINED_TOPICS, 'joined'] : [MAX_SUBSCRIBED_TOPICS, 'subscribed']
      const count = [...topics.values()].filter((topic) => topic[role].has(session.userId)).length
      if (count >= max) return rtmError('CHANNEL_EXCEED_TOPIC_LIMITATION', op, `at most ${max} ${doing} topics per stream channel`)
      if (!topics.has(topicName) && topics.size >= MAX_TOPICS_PER_CHANNEL) {
        return rtmError('CHANNEL_JOIN_TOPIC_FAILED', op, `stream channel "${channelName}" already has ${MAX_TOPICS_PER_CHANNEL} topics`)
      }
    }
    this.topics.set(channelName, topics)
    let topic = topics.get(topicName)
    if (!topic) {
      topic = { name: topicName, publishers: new Map(), subscriptions: new Map() }
      topics.set(topicName, topic)
    }
    return topic
  }

  private removePublisher(channelName: string, topic: Topic, session: Session, fx: Effects, now: number): void {
    const publisher = topic.publishers.get(session.userId)
    if (!publisher) return
    this.announce(channelName, topic, session, 'REMOTE_LEAVE', fx, now)
    topic.publishers.delete(session.userId)
    this.dropIfEmpty(channelName, topic)
  }

  /** Topic REMOTE_JOIN / REMOTE_LEAVE go to every other connected member of the channel. */
  private announce(channelName: string, topic: Topic, subject: Session, type: 'REMOTE_JOIN' | 'REMOTE_LEAVE', fx: Effects, now: number): void {
    const channel = this.ctx.presence.channels.get(channelKey(ChannelType.STREAM, channelName))
    const to: ConnId[] = []
    for (const member of channel?.members.values() ?? []) if (member !== subject && member.connId) to.push(member.connId)
    const publisher = topic.publishers.get(subject.userId)
    const topicInfos = publisher ? [info(topic.name, [[subject.userId, publisher]])] : []
    fx.send(to, { kind: 'topic', eventType: TopicEventType[type], channelName, publisher: subject.userId, topicInfos, totalTopics: topicInfos.length, timestamp: now })
  }

  private topic(channelName: string, topicName: string): Topic | undefined {
    return this.topics.get(channelName)?.get(topicName)
  }

  private dropIfEmpty(channelName: string, topic: Topic): void {
    if (topic.publishers.size > 0 || topic.subscriptions.size > 0) return
    const topics = this.topics.get(channelName)
    topics?.delete(topic.name)
    if (topics?.size === 0) this.topics.delete(channelName)
  }
}

function info(topicName: string, publishers: [string, Publisher][]): TopicInfo {
  return {
    topicName,
    publishers: publishers.map(([publisherUserId, p]) => ({ publisherUserId, publisherMeta: p.meta })),
    totalPublisher: publishers.length,
  }
}
