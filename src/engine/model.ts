import type { ConnId } from './effects'
import type { TokenBucket } from './rate-limit'

/** A logged-in user of one app. Outlives its connection for `presenceTimeoutMs` (resume). */
export interface Session {
  userId: string
  connId: ConnId | null
  resumeKey: string
  presenceTimeoutMs: number
  heartbeatMs: number
  /** Last frame seen from the client; silence for HEARTBEAT_MISSES intervals means lost. */
  lastSeen: number
  /** When the connection went away; the session times out at lostAt + presenceTimeoutMs. */
  lostAt: number | null
  tokenExpiresAt: number | null
  tokenWarned: boolean
  /** Subscribed message channels and joined stream channels, by channel key. */
  memberships: Map<string, Membership>
  /** setState on a channel the user is not in yet (seed 000: applied when joining). */
  cachedStates: Map<string, Record<string, string>>
  /** Message and topic publishes (PUBLISH_RATE); a flood is refused with -10021, not fanned out. */
  publishRate: TokenBucket
  /** Subscribing again to a subscribed channel resends its SNAPSHOT (RESUBSCRIBE_RATE, -11020). */
  resubscribeRate: TokenBucket
  /** Recent replies by request id: a request resent after a reconnect is answered, not applied twice. */
  replies: Map<number, { ok: boolean; result?: Record<string, unknown>; error?: unknown }>
}

export interface MemberOptions {
  withMessage: boolean
  withPresence: boolean
  withMetadata: boolean
  withLock: boolean
  beQuiet: boolean
}

export interface Membership extends MemberOptions {
  channel: Channel
  states: Record<string, string>
}

export interface PendingInterval {
  join: Set<string>
  leave: Set<string>
  timeout: Set<string>
  states: Map<string, Record<string, string>>
  flushAt: number
}

/** A message or stream channel with at least one member. */
export interface Channel {
  key: string
  type: 1 | 2
  name: string
  members: Map<string, Session>
  /** Presence changes gathered while the channel is in INTERVAL mode. */
  pending: PendingInterval | null
  /** Members not in beQuiet, kept up to date so that a join costs the same in a channel of any size. */
  visibleCount: number
  /**
   * Connection ids of connected members that set an option (withMessage, withPresence, …), built on
   * demand and dropped on any change of membership, options or connection (Presence keeps it right).
   */
  connsWith: Partial<Record<keyof MemberOptions, ConnId[]>>
}

export function channelKey(type: number, name: string): string {
  return `${type}:${name}`
}
