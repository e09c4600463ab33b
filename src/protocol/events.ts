import type { CallServerMessage } from './calls'
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

export type ServerEvent = MessageEvent | PresenceEvent | KickedEvent | TokenWillExpireEvent | CallEvent

export type ReplyFrame =
  | { t: 'res'; id: number; ok: true; result: Record<string, unknown> }
  | { t: 'res'; id: number; ok: false; error: RtmErrorInfo }

export type EventFrame = { t: 'evt'; event: ServerEvent }
export type ServerFrame = ReplyFrame | EventFrame
export type RequestFrame = { t: 'req'; id: number; op: string; args: unknown }

