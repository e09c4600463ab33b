import {
  DEFAULT_PUBLISHER_CAP, DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS, ROOM_CODES,
  type ListCause, type Role, type RoomAck, type RoomCode, type RoomMember, type RoomServerMessage, type RoomSession, type RoomType,
} from '../protocol/room-codes'
import type { ConnId, Effects } from './effects'

/** The room settings of the engine config (time comes in through `tick(now)`). */
export interface RoomTimings {
  /** A session silent (no HEARTBEAT nor any other signal) this long is removed on tick, cause 'timeout'. */
  heartbeatTimeoutMs: number
  /** m2m: a member joins as publisher while the room has fewer sessions that publish than this. */
  publisherCap: number
}

export const DEFAULT_ROOM_TIMINGS: RoomTimings = { heartbeatTimeoutMs: DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS, publisherCap: DEFAULT_PUBLISHER_CAP }

/** What a member's pps entry shows of its user's metadata (the keys of those names, where set). */
export interface RoomProfile { username?: string; fullname?: string; avatar?: string }

/** What the host hands in with each room frame: ids and addresses come from outside, the engine has no randomness. */
export interface RoomContext {
  /** The connection's user (native login; /ws/rooms token or `?userId=`), or null when anonymous (open mode). */
  userId: string | null
  /** A fresh unique id: the userId of a JOIN with `op.userFaking`. */
  newId: string
  /** ICE server urls for the JOIN ack's `es.icfg.is`. */
  iceUrls: string[]
  /** Whether `userId` is logged in to this app now: an anonymous connection may not speak as that user. */
  isUser?: (userId: string) => boolean
  /** The user's profile from its metadata; read on each signal of the user's session. */
  profileOf?: (userId: string) => RoomProfile
  /** The relay's forwarding unit, when it has one: rooms created with `eg: 'sfu'` use it. */
  sfu?: SfuSeat
}

/** What the engine sees of an SFU: a connection to address, and offers it hands out at JOIN. */
export interface SfuSeat {
  /** Room events for the SFU (publisher lists, members' signals to SFU_SESSION) are sent to this connection. */
  conn: ConnId
  /** The SFU's offer of a receive connection for this member, now; or why it takes no more members (seed 001 "Server overload"). */
  offer(rid: string, sessionId: string): { sdp: string } | { refused: string }
}

export interface RoomState {
  rid: string
  type: RoomType
  /** By sessionId, in join order (the hand-over goes to the longest present). */
  members: Map<string, Member>
  /** The SFU's connection when the room's engine is `sfu` (chosen at creation); null: a browser mesh. */
  sfu: ConnId | null
}

/** One session in one room. */
export interface Member {
  room: RoomState
  /** As recorded at JOIN (userId faked if asked): forwarded signals carry this, never what a frame claims. */
  session: RoomSession
  conn: ConnId
  role: Role
  video: boolean
  audio: boolean
  /** When its last valid signal arrived (heartbeat timeout). */
  lastSeen: number
  profile: RoomProfile
  /** SFU rooms: the receive connection the SFU offered this session (its JOIN ack's `es.sdps`). */
  sdps?: { id: string; sdp: string }
}

export type ErrorCode = Exclude<RoomCode, 200>
/** A signal's result: the success ack's `b`, or an error code and why. */
export type Outcome = { b: Record<string, unknown> } | { c: ErrorCode; msg: string }

export function failed(c: ErrorCode, msg: string): Outcome {
  return { c, msg }
}

export function okAck(s: string, b: Record<string, unknown>): RoomAck {
  return { c: ROOM_CODES.OK, s, b }
}

export function errorAck(c: number, s: string, req: unknown, msg: string): RoomAck {
  return { c, s, b: { req, msg } }
}

export function publishes(member: Member): boolean {
  return member.role !== 'viewer'
}

export function toRoomMember(member: Member): RoomMember {
  const { session, role, video, audio, profile } = member
  return {
    id: session.sessionId, sessionId: session.sessionId, role, video, audio, publish: publishes(member),
    userId: session.userId, host: session.host, category: session.category, deviceId: session.deviceId,
    ...profile,
  }
}

/** The publisher list (`pps`): every member, in join order. */
export function ppsOf(room: RoomState): RoomMember[] {
  return [...room.members.values()].map(toRoomMember)
}

export function adminOf(room: RoomState): Member | undefined {
  for (const member of room.members.values()) if (member.role === 'admin') return member
  return undefined
}

/** Each connection once, in member order. */
export function connsOf(members: Iterable<Member>): ConnId[] {
  const conns = new Set<ConnId>()
  for (const member of members) conns.add(member.conn)
  return [...conns]
}

export function send(fx: Effects, to: ConnId[], msg: RoomServerMessage, now: number): void {
  fx.send(to, { kind: 'room', msg, timestamp: now })
}

/**
 * PUBLISH_LIST_CHANGED to every member's connection, and to the room's SFU (an emptied room's
 * last list tells it the room is gone); `adminChanged` when the admin left.
 */
export function pushList(room: RoomState, cause: ListCause, fx: Effects, now: number, adminChanged?: { from: string; to: string }): void {
  const admin = adminOf(room)
  const b: Record<string, unknown> = { pps: ppsOf(room), rid: room.rid, admin: admin?.session.sessionId ?? null, cause }
  if (adminChanged) b.adminChanged = adminChanged
  const to = connsOf(room.members.values())
  if (room.sfu !== null) to.push(room.sfu)
  send(fx, to, { c: ROOM_CODES.OK, s: 'PUBLISH_LIST_CHANGED', b }, now)
}
