import {
  ChannelType, LockEventType, StorageEventType, StorageType, TopicEventType, nameOf,
  type ChannelTypeName, type LockEventTypeName, type StorageEventTypeName, type StorageTypeName, type TopicEventTypeName,
} from '../protocol/enums'

/** SDK payloads of the 'topic', 'storage' and 'lock' events (SDK.md): enum fields carry names. */
export interface PublisherInfo { publisherUserId: string; publisherMeta: string }
export interface TopicInfo { topicName: string; publishers: PublisherInfo[]; totalPublisher: number }

export interface TopicEvent {
  eventType: TopicEventTypeName
  channelName: string
  publisher: string
  topicInfos: TopicInfo[]
  totalTopics: number
  timestamp: number
}

/** One metadata item as events and get* results carry it (SDK.md). */
export interface MetadataDetail { value: string; revision: number; updated: number; authorUid: string }
export interface MetadataData { totalCount: number; majorRevision: number; metadata: Record<string, MetadataDetail> }

export interface StorageEvent {
  channelType: ChannelTypeName
  channelName: string
  publisher: string
  storageType: StorageTypeName
  eventType: StorageEventTypeName
  data: MetadataData
  timestamp: number
}

export interface LockDetail { lockName: string; owner: string; ttl: number }

export interface LockEvent {
  channelType: ChannelTypeName
  channelName: string
  eventType: LockEventTypeName
  lockName: string
  ttl: number
  publisher: string
  snapshot: LockDetail[]
  owner: string
  timestamp: number
}

type Wire<T, Numeric extends keyof T> = Omit<T, Numeric> & { [K in Numeric]: number } & { kind: string }

export type WireTopicEvent = Wire<TopicEvent, 'eventType'>
export type WireStorageEvent = Wire<StorageEvent, 'channelType' | 'storageType' | 'eventType'>
export type WireLockEvent = Wire<LockEvent, 'channelType' | 'eventType'>

export function toTopicEvent({ kind: _kind, ...wire }: WireTopicEvent): TopicEvent {
  return { ...wire, eventType: nameOf(TopicEventType, wire.eventType) }
}

export function toStorageEvent({ kind: _kind, ...wire }: WireStorageEvent): StorageEvent {
  return {
    ...wire,
    channelType: nameOf(ChannelType, wire.channelType),
    storageType: nameOf(StorageType, wire.storageType),
    eventType: nameOf(StorageEventType, wire.eventType),
  }
}

export function toLockEvent({ kind: _kind, ...wire }: WireLockEvent): LockEvent {
  return { ...wire, channelType: nameOf(ChannelType, wire.channelType), eventType: nameOf(LockEventType, wire.eventType) }
}
