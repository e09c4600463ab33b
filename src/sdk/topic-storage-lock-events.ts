import {
  ChannelType, LockEventType, StorageEventType, StorageType, TopicEventType, nameOf,
  type ChannelTypeName, type LockEventTypeName, type StorageEventTypeName, type StorageTypeName, type TopicEventTypeName,
} from '../protocol/enums'
import type {
  LockDetail, LockEvent as WireLockEvent, MetadataData, StorageEvent as WireStorageEvent, TopicEvent as WireTopicEvent, TopicInfo,
} from '../protocol/events'

export type { LockDetail, MetadataData, MetadataDetail, PublisherInfo, TopicInfo } from '../protocol/events'
export type { WireLockEvent, WireStorageEvent, WireTopicEvent }

/** SDK payloads of the 'topic', 'storage' and 'lock' events (SDK.md): enum fields carry names. */
export interface TopicEvent {
  eventType: TopicEventTypeName
  channelName: string
  publisher: string
  topicInfos: TopicInfo[]
  totalTopics: number
  timestamp: number
}

export interface StorageEvent {
  channelType: ChannelTypeName
  channelName: string
  publisher: string
  storageType: StorageTypeName
  eventType: StorageEventTypeName
  data: MetadataData
  timestamp: number
}

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
