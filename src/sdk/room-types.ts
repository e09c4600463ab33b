import type {
  DeviceHost, ListCause, Role, RoomAction, RoomCodeName, RoomMember, RoomServerMessage, RoomSession, RoomType, SessionCategory,
} from '../protocol/room-codes'
import type { IceOptions } from './ice'
import type { NetworkErrorCode } from '../protocol/network-errors'
import type { ConnectionState } from './media/peer-link'
import type { AutoplayEvent } from './media/playback'
import type { StatsSample } from './media/stats/types'
import type { LayerRid } from '../protocol/sfu'
import type { RoomEngine } from './room-engine'

/** RoomClient's options, arguments, results and events (rooms.ts). */

/** Seed 001 RoomState. */
export type RoomState = 'unjoined' | 'joining' | 'joined'

export interface RoomClientOptions extends IceOptions {
  /** What to open when we publish (default camera and microphone). */
  media?: MediaStreamConstraints
  /** Send this instead of opening the camera (a screen share: getDisplayMedia()). Its tracks stay the page's to stop. */
  stream?: MediaStream
  /** Seed 003 `ss.host` (default 'Web'). */
  host?: DeviceHost
  /** Seed 003 `ss.deviceId` (default ''). */
  deviceId?: string
  /** How often HEARTBEAT goes while joined (default ROOM_HEARTBEAT_INTERVAL_MS). */
  heartbeatIntervalMs?: number
  /** How often the `stats` event comes for each publisher's media (default 2 s). */
  statsIntervalMs?: number
}

export interface JoinOptions {
  rid: string
  /** The room type (seed 003 `ch`). */
  ch: RoomType
  /** Video / audio enabled (default true): our tracks start so, and the list says so. */
  ve?: boolean
  ae?: boolean
  /** We start the room (seed 003: must be true to create it; an existing room is 4022). */
  roomCreating?: boolean
  category?: SessionCategory
  /** Default a new one. */
  sessionId?: string
  /**
   * How a room we create carries media: `native` (default) a mesh of browser connections,
   * `sfu` through the relay's forwarding unit. The JOIN ack says which the room uses.
   */
  eg?: RoomEngine
}

export interface JoinResult {
  rid: string
  role: Role
  members: RoomMember[]
  sessionId: string
  /** The STUN URLs the JOIN ack names (`es.icfg.is`); peer connections use `rtm.ice`, which carries the relay's servers. */
  iceUrls: string[]
  /** How the room's media travels, as the JOIN ack's `eg` said. */
  engine: RoomEngine
}

/** A KICK / PUBLISH_ACCEPT / PUBLISH_REJECT target: a userId (all its sessions) or one session. */
export type RoomTarget = string | { sessionId: string; userId?: string }

/** A frame as this client sends it (native op `room`): the /ws/rooms envelope. */
export interface RoomRequest {
  action: RoomAction
  data: Record<string, unknown>
}

export type RoomEventMap = {
  roomState: { state: RoomState }
  /** The publisher list (seed 003 `pps`, every member in join order), after our join and every change. */
  members: { members: RoomMember[]; cause: ListCause; admin: string | null; adminChanged?: { from: string; to: string } }
  role: { role: Role }
  /** The admin removed our session: we are out of the room. */
  kicked: { rid: string }
  /** (admin) a viewer asks to publish: accept() or reject() its session. */
  publishRequest: { from: RoomSession; ve: boolean; ae: boolean; msg?: string }
  publishAccepted: { by: RoomSession }
  publishRejected: { by: RoomSession }
  localStream: { stream: MediaStream | null }
  /** A publisher's stream arrived (or went: null). */
  remoteStream: { sessionId: string; userId: string; category: SessionCategory; stream: MediaStream | null }
  /** The media path to (`send`) or from (`receive`) a member. */
  connectionState: { sessionId: string; state: ConnectionState; direction: 'send' | 'receive' }
  /** Something done in the background failed: a heartbeat, a rejoin, a peer signal, the camera (`MEDIA`). */
  error: { code: number; name: RoomCodeName | 'MEDIA' | 'UNKNOWN'; category: NetworkErrorCode | null; message: string }
  /** Every room frame out and every ack, push and signal in, for signal viewers. */
  message: { direction: 'in' | 'out'; msg: RoomServerMessage | RoomRequest }
  /** Seed 001's WebRTCStats of a publisher's media we receive (`sessionId`: the publisher's session), every `statsIntervalMs`. */
  stats: StatsSample & { layer?: LayerRid }
  /** (SFU room) The layer of a publisher's video the SFU now forwards us: `h` full, `l` reduced. */
  layer: { sessionId: string; layer: LayerRid }
  /** The browser blocked a publisher's media (code -1) until `resumePlayback()` from a click plays it (code 0). */
  autoplay: AutoplayEvent
}
