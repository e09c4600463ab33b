/**
 * Seed 003's room vocabulary as plain values (no zod), so that the page's SDK, which only
 * reads them, does not pull the relay's schemas into its bundle. `./rooms` re-exports it.
 */

/** Seed 003 room types (`ch`). */
export const ROOM_TYPES = ['p2p', 'm2m', 'a2m', 'p2m'] as const
export type RoomType = (typeof ROOM_TYPES)[number]

export const ROLES = ['admin', 'publisher', 'viewer'] as const
export type Role = (typeof ROLES)[number]

export const HOSTS = ['iOS', 'iOS_EX', 'Android', 'Web', 'Web_Studio', 'Server'] as const
export type DeviceHost = (typeof HOSTS)[number]

export const CATEGORIES = ['stream', 'screenshare'] as const
export type SessionCategory = (typeof CATEGORIES)[number]

/**
 * Seed 003 stream engines, and ours: `sfu` (the relay forwards media, issue 19). A relay with
 * an SFU hosts `native` (a browser mesh) and `sfu`; every other request is answered `native`.
 */
export const ENGINES = ['native', 'agora', 'hundredms', 'livekit', 'sfu'] as const
export type StreamEngine = (typeof ENGINES)[number]

/**
 * The WebSocket envelope's `action` → the signal's `s`. The first eight are the seed's; the
 * last four are ours: the mesh's peer signals, relayed between members of one room (NOTIFY
 * carries opaque data, e.g. a diagnosis request and its answer).
 */
export const ACTION_SIGNALS = {
  join: 'JOIN',
  leave: 'LEAVE',
  updateVideo: 'UPDATE',
  heartbeat: 'HEARTBEAT',
  kick: 'KICK',
  publishRequest: 'PUBLISH_REQUEST',
  publishAccept: 'PUBLISH_ACCEPT',
  publishReject: 'PUBLISH_REJECT',
  offer: 'OFFER',
  answer: 'ANSWER',
  candidate: 'CANDIDATE',
  notify: 'NOTIFY',
} as const
export type RoomAction = keyof typeof ACTION_SIGNALS
export type RoomSignalName = (typeof ACTION_SIGNALS)[RoomAction]
export const PEER_SIGNALS = ['OFFER', 'ANSWER', 'CANDIDATE', 'NOTIFY'] as const
export type PeerSignalName = (typeof PEER_SIGNALS)[number]
export function isPeerSignal(s: string): s is PeerSignalName {
  return (PEER_SIGNALS as readonly string[]).includes(s)
}

/** Seed 003's ack codes, and what each means. */
export const ROOM_CODES = {
  OK: 200,
  INTERNAL_SERVER_ERROR: 500,
  INVALID_SIGNAL: 2001,
  UNSUPPORTED_CHANNEL: 2002,
  ROOM_NOT_FOUND: 4001,
  NOT_ROOM_MEMBER: 4002,
  ALREADY_EXIST_ROOM: 4022,
  ALREADY_IS_PUBLISHER: 4023,
  PERMISSION_NOT_FOUND: 4051,
} as const
export type RoomCodeName = keyof typeof ROOM_CODES
export type RoomCode = (typeof ROOM_CODES)[RoomCodeName]

/** The table's name for a code, or UNKNOWN for one it does not have. */
export function roomCodeName(code: number): RoomCodeName | 'UNKNOWN' {
  return (Object.keys(ROOM_CODES) as RoomCodeName[]).find((name) => ROOM_CODES[name] === code) ?? 'UNKNOWN'
}

/** A member silent (no HEARTBEAT nor any other signal) this long is removed as if it left. */
export const DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS = 30_000
/** How often the SDK sends HEARTBEAT: three chances within the timeout. */
export const ROOM_HEARTBEAT_INTERVAL_MS = 10_000
/** m2m: members publish on join while the room has fewer publishers than this (the mesh limit). */
export const DEFAULT_PUBLISHER_CAP = 6
/** Members of one room; a JOIN past it is 2002. */
export const MAX_ROOM_MEMBERS = 50
/** Room sessions one connection may hold (across rooms); a JOIN past it is 2001. */
export const MAX_SESSIONS_PER_CONNECTION = 4
/** Bounds of the ids and strings in a signal. */
export const MAX_ROOM_ID_LENGTH = 128
export const MAX_ROOM_SDP_LENGTH = 64 * 1024

/** A member as the publisher lists (`pps`) carry it. `username`/`fullname`/`avatar` come from the user's metadata, where set. */
export interface RoomMember {
  /** The member's sessionId (the seed's `id`; `sessionId` repeats it, as seed 003's PUBLISH_LIST_CHANGED has both). */
  id: string
  sessionId: string
  role: Role
  video: boolean
  audio: boolean
  /** May send media: admin, publisher. */
  publish: boolean
  userId: string
  host: DeviceHost
  category: SessionCategory
  deviceId: string
  username?: string
  fullname?: string
  avatar?: string
}

/** Seed 003's session info (`ss`). */
export interface RoomSession {
  userId: string
  sessionId: string
  category: SessionCategory
  host: DeviceHost
  deviceId: string
}

/** Why a PUBLISH_LIST_CHANGED was sent (ours, beside the seed's fields). */
export type ListCause = 'join' | 'leave' | 'update' | 'kick' | 'promote' | 'timeout' | 'disconnect'

/** A server → client room frame: an ack or push `{c, s, b}`, or a signal forwarded from another member (no `c`). */
export type RoomAck = { c: number; s: string; b: Record<string, unknown> }
export type ForwardedSignal = { s: RoomSignalName; rid: string; ss: RoomSession; [field: string]: unknown }
export type RoomServerMessage = RoomAck | ForwardedSignal
