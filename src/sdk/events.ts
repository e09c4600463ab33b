import {
  ChannelType, LinkState, MessageType, PresenceEventType, nameOf,
  type ChannelTypeName, type LinkOperationName, type LinkStateName, type MessageTypeName, type PresenceEventTypeName,
} from '../protocol/enums'
import type { RecoveryEvent } from './history'
import type { LockEvent, StorageEvent, TopicEvent } from './topic-storage-lock-events'
import type { IntervalDetail, MessageEvent as WireMessage, PresenceEvent as WirePresence, UserState } from '../protocol/events'

/** SDK event payloads (SDK.md): enum fields carry names, not wire numbers. */
export interface MessageEvent {
  channelType: ChannelTypeName
  channelName: string
  topicName: string
  messageType: MessageTypeName
  customType: string
  message: string | Uint8Array
  publisher: string
  publishTime: number
  timestamp: number
  /** Stored messages (storeInHistory): the place in the channel's history. */
  offset?: number
  epoch?: string
  /** Delivered after a reconnect from the channel's history: published while this client was away. */
  recovered?: boolean
}

export interface PresenceEvent {
  eventType: PresenceEventTypeName
  channelType: ChannelTypeName
  channelName: string
  publisher: string
  stateChanged: Record<string, string>
  interval: IntervalDetail | null
  snapshot: UserState[] | null
  timestamp: number
}

export interface LinkStateEvent {
  currentState: LinkStateName
  previousState: LinkStateName
  serviceType: 'MESSAGE'
  operation: LinkOperationName
  reason: string
  reasonCode: string
  affectedChannels: string[]
  unrestoredChannels: string[]
  isResumed: boolean
  timestamp: number
}

export interface TokenPrivilegeWillExpireEvent {
  channelName: string
  timestamp: number
}

/** Every frame in and out, for signal viewers and debugging. */
export interface FrameEvent {
  direction: 'in' | 'out'
  frame: unknown
  timestamp: number
}

export interface RtmEventMap {
  message: MessageEvent
  presence: PresenceEvent
  linkState: LinkStateEvent
  tokenPrivilegeWillExpire: TokenPrivilegeWillExpireEvent
  frame: FrameEvent
  topic: TopicEvent
  storage: StorageEvent
  lock: LockEvent
  recovery: RecoveryEvent
  [kind: string]: unknown
}

export function toMessageEvent(wire: WireMessage, recovered = false): MessageEvent {
  const message = wire.message instanceof ArrayBuffer ? new Uint8Array(wire.message)
    : typeof wire.message === 'string' ? wire.message : new Uint8Array(wire.message)
  return {
    channelType: nameOf(ChannelType, wire.channelType),
    channelName: wire.channelName,
    topicName: wire.topicName,
    messageType: nameOf(MessageType, wire.messageType),
    customType: wire.customType,
    message,
    publisher: wire.publisher,
    publishTime: wire.publishTime,
    timestamp: wire.timestamp,
    ...(wire.offset !== undefined ? { offset: wire.offset, epoch: wire.epoch } : {}),
    ...(recovered ? { recovered } : {}),
  }
}

export function toPresenceEvent(wire: WirePresence): PresenceEvent {
  return {
    eventType: nameOf(PresenceEventType, wire.eventType),
    channelType: nameOf(ChannelType, wire.channelType),
    channelName: wire.channelName,
    publisher: wire.publisher,
    stateChanged: wire.stateChanged,
    interval: wire.interval,
    snapshot: wire.snapshot,
    timestamp: wire.timestamp,
  }
}

export function linkStateName(value: number): LinkStateName {
  return nameOf(LinkState, value)
}

/** A typed listener registry: one payload object per event (STYLE.md rule 6). */
export class Emitter<Map extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Map, Set<(payload: never) => void>>()

  on<K extends keyof Map>(name: K, listener: (payload: Map[K]) => void): void {
    let set = this.listeners.get(name)
    if (!set) this.listeners.set(name, (set = new Set()))
    set.add(listener as (payload: never) => void)
  }

  off<K extends keyof Map>(name: K, listener: (payload: Map[K]) => void): void {
    this.listeners.get(name)?.delete(listener as (payload: never) => void)
  }

  emit<K extends keyof Map>(name: K, payload: Map[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        ;(listener as (payload: Map[K]) => void)(payload)
      } catch (error) {
        // One faulty listener must not starve the others or break the link.
        console.error(`rtm: "${String(name)}" listener threw`, error)
      }
    }
  }

  clear(): void {
    this.listeners.clear()
  }
}
