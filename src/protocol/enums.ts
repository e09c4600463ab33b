/**
 * Seed 000's enumerations ("Enumerated types"). The numeric values are the wire truth;
 * the SDK exposes the names.
 */
export const ChannelType = { MESSAGE: 1, STREAM: 2, USER: 3 } as const
export const PresenceEventType = {
  SNAPSHOT: 1, INTERVAL: 2, REMOTE_JOIN: 3, REMOTE_LEAVE: 4, REMOTE_TIMEOUT: 5,
  REMOTE_STATE_CHANGED: 6, ERROR_OUT_OF_SERVICE: 7,
} as const
export const TopicEventType = { SNAPSHOT: 1, REMOTE_JOIN: 2, REMOTE_LEAVE: 3 } as const
export const StorageType = { USER: 1, CHANNEL: 2 } as const
export const StorageEventType = { SNAPSHOT: 1, SET: 2, UPDATE: 3, REMOVE: 4 } as const
export const LockEventType = { SNAPSHOT: 1, SET: 2, REMOVED: 3, ACQUIRED: 4, RELEASED: 5, EXPIRED: 6 } as const
export const MessageType = { BINARY: 0, STRING: 1 } as const
export const MessageQos = { UNORDERED: 0, ORDERED: 1 } as const
export const MessagePriority = { HIGHEST: 0, HIGH: 1, NORMAL: 4, LOW: 8 } as const
export const LinkState = { IDLE: 0, CONNECTING: 1, CONNECTED: 2, DISCONNECTED: 3, SUSPENDED: 4, FAILED: 5 } as const
export const LinkOperation = {
  LOGIN: 0, LOGOUT: 1, JOIN: 2, LEAVE: 3, SERVER_REJECT: 4, AUTO_RECONNECT: 5, RECONNECTED: 6,
  HEARTBEAT_TIMEOUT: 7, SERVER_TIMEOUT: 8, NETWORK_CHANGE: 9,
} as const

export type ValueOf<T> = T[keyof T]
export type ChannelTypeName = keyof typeof ChannelType
export type ChannelTypeValue = ValueOf<typeof ChannelType>
export type PresenceEventTypeName = keyof typeof PresenceEventType
export type TopicEventTypeName = keyof typeof TopicEventType
export type StorageTypeName = keyof typeof StorageType
export type StorageEventTypeName = keyof typeof StorageEventType
export type LockEventTypeName = keyof typeof LockEventType
export type MessageTypeName = keyof typeof MessageType
export type LinkStateName = keyof typeof LinkState
export type LinkOperationName = keyof typeof LinkOperation

/** Name of a wire value in one of the tables above (e.g. nameOf(ChannelType, 1) === 'MESSAGE'). */
export function nameOf<T extends Record<string, number>>(table: T, value: number): keyof T {
  for (const key in table) if (table[key] === value) return key
  throw new RangeError(`unknown enum value ${value}`)
}
