import type { CallServerMessage } from './calls'
import type { RoomServerMessage } from './room-codes'
import type { RtmErrorInfo } from './errors'

/** Coordinator → client frames. Enum fields carry seed 000's numeric values. */
export interface UserState { userId: string; states: Record<string, string> }

export interface MessageEvent {
  kind: 'message'
  channelType: number
  channelName: string
  topicName: string
  messageType: number
  customType: string
  message: string | Uint8Array
  publisher: string
  publishTime: number
  timestamp: number
  /**
   * Topic messages only: strictly increasing per publisher and topic (taken from one
   * per-app counter, so it has gaps and never repeats, even across leave and re-join).
   * Subscribers of an ordered topic drop anything at or below the last seq they saw.
   */
  seq?: number
  /** Stored messages (storeInHistory) only: the message's place in its channel's history, from 1. */
  offset?: number
  /** With `offset`: the history it belongs to; a new epoch means the earlier history was lost. */
  epoch?: string
}

export interface IntervalDetail {
  join: { users: string[]; userCount: number }
  leave: { users: string[]; userCount: number }
  timeout: { users: string[]; userCount: number }
  userStateList: UserState[]
  totalOccupancy: number
}

export interface PresenceEvent {
  kind: 'presence'
  eventType: number
  channelType: number
  channelName: string
  publisher: string
  stateChanged: Record<string, string>
  interval: IntervalDetail | null
  snapshot: UserState[] | null
  timestamp: number
}

/** The coordinator ended this connection's session (e.g. the same user logged in elsewhere). */
export interface KickedEvent {
  kind: 'kicked'
  reason: string
  reasonCode: string
  timestamp: number
}

export interface TokenWillExpireEvent {
  kind: 'tokenPrivilegeWillExpire'
  channelName: string
  timestamp: number
}

/** Seed 002: a call protocol message for this connection (the raw /ws/calls JSON, unchanged). */
export interface CallEvent {
  kind: 'call'
  msg: CallServerMessage
  timestamp: number
}

/** Seed 003: a room push (`{c:200, s:'PUBLISH_LIST_CHANGED'|'KICK', b}`) or a signal forwarded from another member, as /ws/rooms writes it. */
export interface RoomEvent {
  kind: 'room'
  msg: RoomServerMessage
  timestamp: number
}

export interface PublisherInfo { publisherUserId: string; publisherMeta: string }
export interface TopicInfo { topicName: string; publishers: PublisherInfo[]; totalPublisher: number }

/** Seed 000 TopicEvent; eventType is RtmTopicEventType. Goes to every member of the stream channel. */
export interface TopicEvent {
  kind: 'topic'
  eventType: number
  channelName: string
  /** Who joined or left a topic; '' for SNAPSHOT. */
  publisher: string
  topicInfos: TopicInfo[]
  totalTopics: number
  timestamp: number
}

/** One metadata item as events and get* results carry it (SDK.md): `updated` 0 / `authorUid` '' when not recorded. */
export interface MetadataDetail { value: string; revision: number; updated: number; authorUid: string }
export interface MetadataData {
  /** Items in the whole set after the change. */
  totalCount: number
  majorRevision: number
  /** SNAPSHOT: the whole set; SET/UPDATE: the items written; REMOVE: the items removed. */
  metadata: Record<string, MetadataDetail>
}

/** Seed 000 StorageEvent. For user metadata channelType is 3 (USER) and channelName the user id. */
export interface StorageEvent {
  kind: 'storage'
  channelType: number
  channelName: string
  /** The writer ('' for SNAPSHOT). */
  publisher: string
  storageType: number
  eventType: number
  data: MetadataData
  timestamp: number
}

export interface LockDetail { lockName: string; owner: string; ttl: number }

/** Seed 000 LockEvent (SDK.md shape): SNAPSHOT fills `snapshot`; the others name one lock. */
export interface LockEvent {
  kind: 'lock'
  channelType: number
  channelName: string
  eventType: number
  lockName: string
  ttl: number
  /** Who caused it ('' when the coordinator did, e.g. EXPIRED). */
  publisher: string
  snapshot: LockDetail[]
  /** The owner after the event ('' when free). */
  owner: string
  timestamp: number
}

export type ServerEvent = MessageEvent | PresenceEvent | KickedEvent | TokenWillExpireEvent | CallEvent | RoomEvent | TopicEvent | StorageEvent | LockEvent

export type ReplyFrame =
  | { t: 'res'; id: number; ok: true; result: Record<string, unknown> }
  | { t: 'res'; id: number; ok: false; error: RtmErrorInfo }

export type EventFrame = { t: 'evt'; event: ServerEvent }
export type ServerFrame = ReplyFrame | EventFrame
export type RequestFrame = { t: 'req'; id: number; op: string; args: unknown }

