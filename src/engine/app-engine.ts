import { DEFAULT_CALL_GRACE_MS, DEFAULT_RING_TIMEOUT_MS } from '../protocol/call-codes'
import { ChannelType, MessageType } from '../protocol/enums'
import { DEFAULT_PUBLISHER_CAP, DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS } from '../protocol/room-codes'
import { rtmError, type RtmErrorInfo } from '../protocol/errors'
import type { MessageEvent } from '../protocol/events'
import type { ArgsOf, Request } from '../protocol/requests'
import { ANSWER_LATER } from './context'
import { Effects, type ConnId, type Write } from './effects'
import { DEFAULT_RETENTION, History, MAX_PAGE_MESSAGES, streamOf, toMessageEvent, type Retention } from './history'
import { Locks, type LockRequest } from './locks'
import type { Session } from './model'
import { Presence, type PresenceConfig } from './presence'
import { PUBLISH_RATE, RESUBSCRIBE_RATE, bucketFor, rateExceeded, type Rate } from './rate-limit'
import { MAX_TOTAL_HISTORY_BYTES, newSharedQuota, type SharedQuota } from './quota'
import { REVISION_KEY, Storage, type StorageRequest } from './storage'
import { Streams, type StreamRequest } from './streams'
import { byteLength, isValidName } from './validate'

/** Seed 000 "RtmConfig": presenceTimeout [5,300] s default 300, heartbeatInterval [5,1800] s default 5. */
export const PRESENCE_TIMEOUT_RANGE = [5, 300] as const
export const DEFAULT_PRESENCE_TIMEOUT = 300
export const HEARTBEAT_INTERVAL_RANGE = [5, 1800] as const
export const DEFAULT_HEARTBEAT_INTERVAL = 5
/** A connected client silent for this many heartbeat intervals is treated as gone. */
export const HEARTBEAT_MISSES = 3
/** Seed 000 "renewToken": tokenPrivilegeWillExpire fires 30 s before expiry. */
export const TOKEN_WARNING_MS = 30_000
/** Seed 000 "publish": message channel payloads up to 32 KB. */
export const MAX_MESSAGE_BYTES = 32 * 1024
/** Seed 000 error -11029: customType up to 32 characters. */
export const MAX_CUSTOM_TYPE_LENGTH = 32
/** Replies remembered per session for deduplicating resent requests. */
export const REPLY_CACHE_SIZE = 64
/** Message channels one user may subscribe to (-11005). */
export const MAX_SUBSCRIPTIONS = 50

export interface EngineConfig extends PresenceConfig {
  /** Publishes per user (message, user and topic channels). */
  publishRate: Rate
  /** Subscribing again to a subscribed channel (options change, SNAPSHOT resent). */
  resubscribeRate: Rate
  /** Calls: how long an ACTIVE call waits for a party whose link dropped to claim it back (`leave` after). */
  callGraceMs: number
  /** Calls: how long a call may ring unanswered before it is closed as `no-answer`. */
  callRingTimeoutMs: number
  /** Rooms: a session silent (no HEARTBEAT nor other signal) this long is removed (cause 'timeout'). */
  roomHeartbeatTimeoutMs: number
  /** Rooms: m2m members publish on join while fewer sessions than this publish. */
  roomPublisherCap: number
  /** Message history kept per channel (storeInHistory), unless the app has its own below. */
  historyRetention: Retention
  historyRetentionByApp: Record<string, Partial<Retention>>
  /** The history of all apps together, in bytes. */
  historyMaxBytes: number
}

export const DEFAULT_ENGINE_CONFIG: EngineConfig = {
  intervalThreshold: 50, intervalMs: 1000, publishRate: PUBLISH_RATE, resubscribeRate: RESUBSCRIBE_RATE,
  callGraceMs: DEFAULT_CALL_GRACE_MS, callRingTimeoutMs: DEFAULT_RING_TIMEOUT_MS,
  roomHeartbeatTimeoutMs: DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS, roomPublisherCap: DEFAULT_PUBLISHER_CAP,
  historyRetention: DEFAULT_RETENTION, historyRetentionByApp: {}, historyMaxBytes: MAX_TOTAL_HISTORY_BYTES,
}

export type Reply = { ok: true; result: Record<string, unknown> } | { ok: false; error: RtmErrorInfo }

export interface LoginContext {
  /** Expiry of the verified token (ms since epoch), or null in open mode / no expiry. */
  tokenExpiresAt: number | null
  /** A fresh unguessable key the host generated; becomes the session's resume key. */
  newResumeKey: string
}

type Handled = RtmErrorInfo | Record<string, unknown>

/** The coordinator state of one app: sessions, channels, presence, messages. */
export class AppEngine {
  readonly sessions = new Map<string, Session>()
  readonly byConn = new Map<ConnId, Session>()
  readonly presence: Presence
  readonly streams: Streams
  readonly locks: Locks
  readonly storage: Storage
  readonly history: History

  constructor(readonly appId: string, private readonly config: EngineConfig = DEFAULT_ENGINE_CONFIG, quota: SharedQuota = newSharedQuota()) {
    this.presence = new Presence(config)
    const context = { presence: this.presence, sessions: this.sessions, answerLater: this.answerLater.bind(this) }
    this.streams = new Streams(context, this.entered.bind(this))
    this.locks = new Locks(context, quota.locks)
    this.storage = new Storage(context, this.locks, quota.metadataBytes)
    const retention = { ...config.historyRetention, ...config.historyRetentionByApp[appId] }
    this.history = new History(retention, quota.historyBytes, (name) => this.presence.channels.has(`${ChannelType.MESSAGE}:${name}`))
    this.presence.onExit = (session, channel, fx, now) => {
      this.streams.exited(session, channel, fx, now)
      this.locks.exited(session, channel, fx)
    }
  }

  login(conn: ConnId, args: ArgsOf<'login'>, context: LoginContext, fx: Effects, now: number): Reply {
    const op = 'login'
    if (!isValidName(args.userId)) return fail(rtmError('INVALID_USER_ID', op, 'userId must be 1–64 printable ASCII characters'))
    const presenceTimeout = args.presenceTimeout ?? DEFAULT_PRESENCE_TIMEOUT
    const heartbeatInterval = args.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL
    if (!inRange(presenceTimeout, PRESENCE_TIMEOUT_RANGE)) return fail(rtmError('INVALID_PARAMETER', op, 'presenceTimeout must be within [5, 300] seconds'))
    if (!inRange(heartbeatInterval, HEARTBEAT_INTERVAL_RANGE)) return fail(rtmError('INVALID_PARAMETER', op, 'heartbeatInterval must be within [5, 1800] seconds'))
    const current = this.byConn.get(conn)
    if (current) return fail(rtmError('DUPLICATE_OPERATION', op, `this connection is already logged in as "${current.userId}"`))

    const previous = this.sessions.get(args.userId)
    let resumed = false
    let session: Session
    if (previous && args.resumeKey !== undefined && args.resumeKey === previous.resumeKey) {
      // The same client coming back within presenceTimeout: keep its channels and states.
      if (previous.connId) {
        this.byConn.delete(previous.connId)
        fx.close(previous.connId, 'RESUMED_ELSEWHERE')
      }
      session = previous
      resumed = true
    } else {
      if (previous) this.replace(previous, fx, now)
      session = {
        userId: args.userId, connId: null, resumeKey: context.newResumeKey,
        presenceTimeoutMs: 0, heartbeatMs: 0, lastSeen: now, lostAt: null,
        tokenExpiresAt: null, tokenWarned: false, memberships: new Map(), cachedStates: new Map(), replies: new Map(),
        publishRate: bucketFor(this.config.publishRate), resubscribeRate: bucketFor(this.config.resubscribeRate),
      }
      this.sessions.set(session.userId, session)
    }
    if (!resumed) session.replies.clear()
    Object.assign(session, {
      connId: conn, lostAt: null, lastSeen: now,
      presenceTimeoutMs: presenceTimeout * 1000, heartbeatMs: heartbeatInterval * 1000,
      tokenExpiresAt: context.tokenExpiresAt, tokenWarned: false,
    })
    this.byConn.set(conn, session)
    this.presence.connectionChanged(session)
    return ok({
      userId: session.userId, resumeKey: session.resumeKey, resumed, presenceTimeout, heartbeatInterval,
      channels: [...session.memberships.values()].map((m) => ({ channelName: m.channel.name, channelType: m.channel.type })),
    })
  }

  renewToken(conn: ConnId, tokenExpiresAt: number | null): Reply {
    const session = this.byConn.get(conn)
    if (!session) return fail(rtmError('NOT_LOGIN', 'renewToken'))
    session.tokenExpiresAt = tokenExpiresAt
    session.tokenWarned = false
    return ok({})
  }

  /** null: the request waits (acquireLock with retry); its reply comes later in `fx.replies`. */
  handle(conn: ConnId, id: number, request: Exclude<Request, { op: 'login' | 'renewToken' }>, fx: Effects, now: number): Reply | null {
    const session = this.byConn.get(conn)
    if (!session) return fail(rtmError('NOT_LOGIN', request.op, 'log in first'))
    session.lastSeen = now
    if (request.op === 'heartbeat') return ok({})
    const seen = session.replies.get(id)
    if (seen) return seen as Reply
    const outcome = this.dispatch(session, request, id, fx, now)
    if (outcome === ANSWER_LATER) return null
    const reply = isError(outcome) ? fail(outcome) : ok(outcome)
    this.remember(session, id, reply)
    return reply
  }

  /** Rebuilds durable state (metadata, locks) from the store's entries of this app. */
  restore(entries: Write[]): void {
    for (const entry of entries) {
      if (entry.key === REVISION_KEY || entry.key.startsWith('meta/')) this.storage.restore(entry)
      else if (entry.key.startsWith('lock/')) this.locks.restore(entry)
      else if (entry.key.startsWith('hist/')) this.history.restore(entry)
    }
    this.history.restored()
  }

  /** Nothing left worth keeping in memory: no sessions, metadata, locks, topics or history. */
  get idle(): boolean {
    return this.sessions.size === 0 && this.storage.isEmpty && this.locks.isEmpty && this.streams.isEmpty && this.history.isEmpty
  }

  /** The connection dropped without logout: the session stays, as lost, for presenceTimeout. */
  connectionLost(conn: ConnId, now: number): void {
    const session = this.byConn.get(conn)
    if (!session) return
    this.byConn.delete(conn)
    session.connId = null
    session.lostAt = now
    this.presence.connectionChanged(session)
    this.locks.userOffline(session.userId, now)
  }

  tick(fx: Effects, now: number): void {
    for (const session of this.sessions.values()) {
      if (session.connId && now - session.lastSeen > HEARTBEAT_MISSES * session.heartbeatMs) {
        fx.close(session.connId, 'HEARTBEAT_TIMEOUT')
        this.connectionLost(session.connId, now)
      }
      if (session.lostAt !== null && now >= session.lostAt + session.presenceTimeoutMs) {
        this.remove(session, 'REMOTE_TIMEOUT', fx, now)
        continue
      }
      if (session.tokenExpiresAt !== null && session.connId) {
        if (now >= session.tokenExpiresAt) {
          fx.send(session.connId, { kind: 'kicked', reason: 'the login token expired', reasonCode: 'TOKEN_EXPIRED', timestamp: now })
          fx.close(session.connId, 'TOKEN_EXPIRED')
          this.remove(session, 'REMOTE_LEAVE', fx, now)
        } else if (!session.tokenWarned && now >= session.tokenExpiresAt - TOKEN_WARNING_MS) {
          session.tokenWarned = true
          fx.send(session.connId, { kind: 'tokenPrivilegeWillExpire', channelName: '', timestamp: now })
        }
      }
    }
    this.locks.tick(fx, now)
    this.history.tick(fx, now)
    this.presence.flush(fx, now)
  }

  get connectedCount(): number {
    return this.byConn.size
  }

  private dispatch(session: Session, request: Exclude<Request, { op: 'login' | 'renewToken' }>, id: number, fx: Effects, now: number): Handled {
    const op = request.op
    // Both kinds of publish draw on one budget per user.
    if ((op === 'publish' || op === 'publishTopicMessage') && !session.publishRate.take(now)) return rateExceeded(op, 'messages', this.config.publishRate)
    switch (op) {
      case 'heartbeat':
        return {}
      case 'logout':
        if (session.connId) fx.close(session.connId, 'LOGOUT')
        this.remove(session, 'REMOTE_LEAVE', fx, now, true)
        return {}
      case 'subscribe': {
        const { channelName, ...options } = request.args
        if (!isValidName(channelName)) return rtmError('INVALID_CHANNEL_NAME', op, 'channel names are 1–64 printable ASCII characters')
        const key = `${ChannelType.MESSAGE}:${channelName}`
        const subscribed = [...session.memberships.values()].filter((m) => m.channel.type === ChannelType.MESSAGE).length
        if (!session.memberships.has(key) && subscribed >= MAX_SUBSCRIPTIONS) {
          return rtmError('CHANNEL_INSTANCE_EXCEED_LIMITATION', op, `at most ${MAX_SUBSCRIPTIONS} subscribed message channels`)
        }
        if (session.memberships.has(key) && !session.resubscribeRate.take(now)) {
          return rtmError('CHANNEL_SUBSCRIBE_TOO_FREQUENT', op, `already subscribed to "${channelName}"; subscribing again (which resends the member list) is allowed ${this.config.resubscribeRate.perSecond} time(s) per second`)
        }
        this.presence.enter(session, ChannelType.MESSAGE, channelName, {
          withMessage: options.withMessage ?? true,
          withPresence: options.withPresence ?? true,
          withMetadata: options.withMetadata ?? false,
          withLock: options.withLock ?? false,
          beQuiet: options.beQuiet ?? false,
        }, fx, now)
        this.entered(session, ChannelType.MESSAGE, channelName, fx, now)
        // Where the channel's history stands: the SDK recovers from here after a reconnect.
        return { channelName, history: this.history.head(streamOf(ChannelType.MESSAGE, channelName, session.userId)) }
      }
      case 'unsubscribe': {
        const key = `${ChannelType.MESSAGE}:${request.args.channelName}`
        if (!session.memberships.has(key)) return rtmError('CHANNEL_NOT_SUBSCRIBED', op, `not subscribed to "${request.args.channelName}"`)
        this.presence.exit(session, key, 'REMOTE_LEAVE', fx, now)
        return { channelName: request.args.channelName }
      }
      case 'publish':
        return this.publish(session, request.args, fx, now)
      case 'getMessages': {
        const { channelName, channelType, messageCount = MAX_PAGE_MESSAGES, start = 0, end = 0 } = request.args
        if (channelType !== ChannelType.MESSAGE && channelType !== ChannelType.USER) return rtmError('INVALID_CHANNEL_TYPE', op, 'history exists for MESSAGE and USER channels')
        if (!isValidName(channelName)) return rtmError(channelType === ChannelType.USER ? 'INVALID_USER_ID' : 'INVALID_CHANNEL_NAME', op)
        if (messageCount < 1 || messageCount > MAX_PAGE_MESSAGES) return rtmError('INVALID_PARAMETER', op, `messageCount must be from 1 to ${MAX_PAGE_MESSAGES}`)
        if (start > 0 && end > start) return rtmError('INVALID_PARAMETER', op, 'end must not be later than start')
        // A user channel's history is the conversation of the caller and that user: no one else's.
        const { messageList, count, newStart } = this.history.page(streamOf(channelType, channelName, session.userId), messageCount, start, end)
        return { messageList, count, newStart }
      }
      case 'recoverMessages': {
        const { channelName, epoch, offset } = request.args
        if (!session.memberships.has(`${ChannelType.MESSAGE}:${channelName}`)) return rtmError('CHANNEL_NOT_SUBSCRIBED', op, `not subscribed to "${channelName}"`)
        const stream = streamOf(ChannelType.MESSAGE, channelName, session.userId)
        const missed = this.history.since(stream, epoch, offset)
        return {
          channelName, epoch: missed.epoch, offset: missed.offset, recovered: missed.recovered, more: missed.more,
          messages: missed.messages.map((message) => toMessageEvent(message, stream, missed.epoch, session.userId)),
        }
      }
      case 'getOnlineUsers': {
        const { channelName, channelType, includedUserId = true, includedState = false, page } = request.args
        const invalid = checkPresenceChannel(channelName, channelType, op)
        if (invalid) return invalid
        return { channelName, ...this.presence.getOnlineUsers(channelType, channelName, includedUserId, includedState, page) }
      }
      case 'getUserChannels':
        if (!isValidName(request.args.userId)) return rtmError('INVALID_USER_ID', op)
        return this.presence.getUserChannels(this.sessions.get(request.args.userId))
      case 'setState': {
        const { channelName, channelType, states } = request.args
        return checkPresenceChannel(channelName, channelType, op)
          ?? this.presence.setState(session, channelType, channelName, states, fx, now, op) ?? { channelName }
      }
      case 'getState': {
        const { channelName, channelType, userId } = request.args
        return checkPresenceChannel(channelName, channelType, op)
          ?? { channelName, ...this.presence.getState(userId, channelType, channelName, op) }
      }
      case 'removeState': {
        const { channelName, channelType, states } = request.args
        const invalid = checkPresenceChannel(channelName, channelType, op)
        if (invalid) return invalid
        this.presence.removeState(session, channelType, channelName, states, fx, now)
        return { channelName }
      }
      case 'getChannelList':
        return { channels: this.presence.getChannelList() }
      case 'joinStream': case 'leaveStream': case 'joinTopic': case 'leaveTopic': case 'publishTopicMessage':
      case 'subscribeTopic': case 'unsubscribeTopic':
        return this.streams.handle(session, request satisfies StreamRequest, id, fx, now)
      case 'setChannelMetadata': case 'getChannelMetadata': case 'updateChannelMetadata': case 'removeChannelMetadata':
      case 'setUserMetadata': case 'getUserMetadata': case 'updateUserMetadata': case 'removeUserMetadata':
      case 'subscribeUserMetadata': case 'unsubscribeUserMetadata':
        return this.storage.handle(session, request satisfies StorageRequest, fx, now)
      case 'setLock': case 'acquireLock': case 'releaseLock': case 'revokeLock': case 'getLock': case 'removeLock':
        return this.locks.handle(session, request satisfies LockRequest, id, fx, now)
      default: {
        const unhandled: never = request
        return rtmError('INVALID_PARAMETER', (unhandled as { op: string }).op, 'operation not supported')
      }
    }
  }

  private publish(session: Session, args: ArgsOf<'publish'>, fx: Effects, now: number): Handled {
    const op = 'publish'
    const customType = args.customType ?? ''
    if (customType.length > MAX_CUSTOM_TYPE_LENGTH) return rtmError('CHANNEL_CUSTOM_TYPE_LENGTH_OVERFLOW', op, `customType has ${customType.length} characters; at most ${MAX_CUSTOM_TYPE_LENGTH}`)
    const size = byteLength(args.message)
    if (size > MAX_MESSAGE_BYTES) return rtmError('CHANNEL_MESSAGE_LENGTH_EXCEED_LIMITATION', op, `payload is ${size} bytes; a message channel carries at most ${MAX_MESSAGE_BYTES}`)
    const stored = args.storeInHistory === true
    if (args.channelType !== ChannelType.MESSAGE && args.channelType !== ChannelType.USER) return rtmError('INVALID_CHANNEL_TYPE', op, 'publish goes to MESSAGE or USER channels; stream channels use publishTopicMessage')
    if (!isValidName(args.channelName)) return rtmError(args.channelType === ChannelType.USER ? 'INVALID_USER_ID' : 'INVALID_CHANNEL_NAME', op)
    const receiver = args.channelType === ChannelType.USER ? this.sessions.get(args.channelName) : undefined
    // A stored message waits in the conversation's history for a receiver who is away.
    if (args.channelType === ChannelType.USER && !receiver?.connId && !stored) return rtmError('CHANNEL_RECEIVER_OFFLINE', op, `user "${args.channelName}" is offline`)
    const messageType = typeof args.message === 'string' ? MessageType.STRING : MessageType.BINARY
    let event: MessageEvent = {
      kind: 'message', channelType: args.channelType, channelName: args.channelName, topicName: '',
      messageType, customType, message: args.message, publisher: session.userId, publishTime: now, timestamp: now,
    }
    let place = {}
    if (stored) {
      const kept = this.history.append(streamOf(args.channelType, args.channelName, session.userId), {
        publisher: session.userId, customType, messageType, message: args.message,
      }, fx, now, op)
      if ('error' in kept) return kept
      event = { ...event, publishTime: kept.timestamp, timestamp: kept.timestamp, offset: kept.offset, epoch: kept.epoch }
      place = { offset: kept.offset, epoch: kept.epoch }
    }
    if (args.channelType === ChannelType.USER) {
      // A user-channel message names its sender as the channel (seed 000 "User Channel").
      if (receiver?.connId) fx.send(receiver.connId, { ...event, channelName: session.userId })
    } else {
      const channel = this.presence.channels.get(`${ChannelType.MESSAGE}:${args.channelName}`)
      if (channel) fx.send(this.presence.connsWith(channel, 'withMessage'), event)
    }
    return { channelName: args.channelName, ...place }
  }

  /** A second login without the resume key takes over the user id; the first is told why. */
  private replace(previous: Session, fx: Effects, now: number): void {
    if (previous.connId) {
      fx.send(previous.connId, { kind: 'kicked', reason: 'the same user id logged in on another connection', reasonCode: 'SAME_UID_LOGIN', timestamp: now })
      fx.close(previous.connId, 'SAME_UID_LOGIN')
    }
    this.remove(previous, 'REMOTE_LEAVE', fx, now)
  }

  /** Joined or subscribed withMetadata / withLock: the member gets the current metadata and locks. */
  private entered(session: Session, type: 1 | 2, channelName: string, fx: Effects, now: number): void {
    const membership = session.memberships.get(`${type}:${channelName}`)
    if (membership?.withMetadata) this.storage.sendSnapshot(session, type, channelName, fx, now)
    if (membership?.withLock) this.locks.sendSnapshot(session, type, channelName, fx, now)
  }

  /** Answers a request that waited; remembered so that a resend after a reconnect gets the same answer. */
  private answerLater(session: Session, id: number, reply: Reply, fx: Effects): void {
    this.remember(session, id, reply)
    if (session.connId) fx.reply(session.connId, id, reply)
  }

  private remember(session: Session, id: number, reply: Reply): void {
    if (session.replies.size >= REPLY_CACHE_SIZE) session.replies.delete(session.replies.keys().next().value!)
    if (this.sessions.get(session.userId) === session) session.replies.set(id, reply)
  }

  /** `loggedOut`: the user left on purpose, so their locks are let go now rather than after ttl. */
  private remove(session: Session, cause: 'REMOTE_LEAVE' | 'REMOTE_TIMEOUT', fx: Effects, now: number, loggedOut = false): void {
    for (const key of [...session.memberships.keys()]) this.presence.exit(session, key, cause, fx, now)
    if (session.connId) this.byConn.delete(session.connId)
    session.connId = null
    this.storage.sessionEnded(session)
    this.locks.sessionEnded(session, loggedOut, fx, now)
    if (this.sessions.get(session.userId) === session) this.sessions.delete(session.userId)
  }
}

function checkPresenceChannel(channelName: string, channelType: number, op: string): RtmErrorInfo | null {
  if (channelType !== ChannelType.MESSAGE && channelType !== ChannelType.STREAM) return rtmError('INVALID_CHANNEL_TYPE', op, 'presence exists on MESSAGE and STREAM channels')
  if (!isValidName(channelName)) return rtmError('INVALID_CHANNEL_NAME', op)
  return null
}

function inRange(value: number, [min, max]: readonly [number, number]): boolean {
  return value >= min && value <= max
}

function isError(value: Handled): value is RtmErrorInfo {
  return (value as RtmErrorInfo).error === true
}

export function ok(result: Record<string, unknown>): Reply {
  return { ok: true, result }
}

export function fail(error: RtmErrorInfo): Reply {
  return { ok: false, error }
}
