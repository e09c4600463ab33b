import { REQUEST_RATE } from '../host/coordinator-host'
import { MAX_FRAME_DEPTH, checkShape } from '../protocol/bounds'
import { ACTION_SIGNALS, ROOM_CODES, type RoomAck, type RoomAction, type RoomServerMessage, type RoomSignalName } from '../protocol/room-codes'
import { attachJsonWsEdge, type JsonWsRelay } from './json-ws-edge'

/** Seed 003's room signals as raw WebSocket JSON: `{action, data}` frames in, `{c, s, b}` acks and pushes (and forwarded signals) out. */
export const ROOMS_WS_PATH = '/ws/rooms'
/** Largest accepted frame: an OFFER carries at most MAX_ROOM_SDP_LENGTH (64 KiB) of SDP, which JSON may escape to a few times that. */
export const MAX_ROOM_FRAME_BYTES = 256 * 1024
/** Sockets that do not answer a ping within this time are dropped (their sessions leave at once, cause 'disconnect'). */
export const ROOMS_PING_INTERVAL_MS = 30_000
/** Frames per socket: the native protocol's request rate; beyond it a 2001 ack and the frame is dropped. */
export const ROOM_FRAME_RATE = REQUEST_RATE
const CONN_PREFIX = 'rooms:'
const rateDetail = `rate limited: at most ${ROOM_FRAME_RATE.perSecond} frames per second, bursts of ${ROOM_FRAME_RATE.burst}`

/**
 * The `/ws/rooms` edge codec: `{action, data}` text frames go to the coordinator's rooms of
 * the socket's app; its ack comes back as a `room` event, written (as every `room` event)
 * as the bare message. A page user (native `room` op) and a plain WebSocket client of the
 * same app meet in the same rooms.
 *
 * Who the socket is comes from its upgrade URL (ws-upgrade.ts): `?appId=`, `?token=` with a
 * token secret (its user must be the `ss.userId` of every signal), `?userId=` in open mode,
 * else anonymous (any `ss.userId`). A socket with no JOIN acknowledged by the relay's login
 * deadline is closed; one past MAX_OUTBOUND_BYTES of unread frames too (json-ws-edge.ts).
 */
export function attachRoomsWs(relay: JsonWsRelay): { close(): void } {
  return attachJsonWsEdge<RoomServerMessage>(relay, {
    path: ROOMS_WS_PATH,
    connPrefix: CONN_PREFIX,
    name: 'rooms',
    operation: 'room',
    maxFrameBytes: MAX_ROOM_FRAME_BYTES,
    pingIntervalMs: ROOMS_PING_INTERVAL_MS,
    frameRate: ROOM_FRAME_RATE,
    outbound: (frame) => (frame.t === 'evt' && frame.event.kind === 'room' ? frame.event.msg : undefined),
    // A JOIN acknowledged is this endpoint's login.
    logsIn: (msg) => 'c' in msg && msg.c === ROOM_CODES.OK && msg.s === 'JOIN',
    loginMissing: 'no JOIN by the login deadline',
    // Parsed even when over the rate: its ack names the signal and echoes the data, as every error ack does.
    rateLimited: (parsed) => invalid(...labelOf(parsed()), rateDetail),
    malformed: (isBinary) => invalid('UNKNOWN', null, isBinary ? 'binary frames are not accepted' : 'not valid JSON'),
    receive: (conn, raw, identity) => relay.host.receiveRoom(conn, raw, identity),
  })
}

/** Seed 003's error ack for a frame the edge refuses before the engine sees it (2001 INVALID_SIGNAL). */
function invalid(s: RoomSignalName | 'UNKNOWN', req: unknown, msg: string): RoomAck {
  return { c: ROOM_CODES.INVALID_SIGNAL, s, b: { req, msg } }
}

/** The signal a frame names by its action, and its `data` to echo (null when nested too deep to echo safely). */
function labelOf(raw: unknown): [RoomSignalName | 'UNKNOWN', unknown] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !checkShape(raw, MAX_FRAME_DEPTH).ok) return ['UNKNOWN', null]
  const { action, data } = raw as { action?: unknown; data?: unknown }
  const s = typeof action === 'string' && Object.hasOwn(ACTION_SIGNALS, action) ? ACTION_SIGNALS[action as RoomAction] : 'UNKNOWN'
  return [s, data ?? null]
}
