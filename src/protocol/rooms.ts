import { z } from 'zod'
import { checkShape, MAX_FRAME_DEPTH } from './bounds'
import {
  ACTION_SIGNALS, CATEGORIES, ENGINES, HOSTS, MAX_ROOM_ID_LENGTH, MAX_ROOM_SDP_LENGTH, ROOM_TYPES,
  type RoomAction, type RoomSignalName,
} from './room-codes'
import { iceCandidateSchema, opaqueDataSchema, sdpSchema } from './rtc-values'

/**
 * Seed 003's room signals (`003_505a9cf75c9a4014.txt`) with the choices issue 13 made
 * precise. The same `{action, data}` envelope travels raw on `/ws/rooms` and inside the
 * native protocol (request op `room`, event kind `room`); answers are the seed's `{c, s, b}`.
 */

export * from './room-codes'

const id = z.string().min(1).max(MAX_ROOM_ID_LENGTH)
const session = z.object({
  userId: id,
  sessionId: id,
  // Seed clients send all five; a missing category/host/deviceId takes the plain default.
  category: z.enum(CATEGORIES).default('stream'),
  host: z.enum(HOSTS).default('Web'),
  deviceId: z.string().max(MAX_ROOM_ID_LENGTH).default(''),
})
/** `to`: a userId (every session of that user) or one session. */
const target = z.union([id, z.object({ userId: id.optional(), sessionId: id })])
const common = { ch: z.enum(ROOM_TYPES), ss: session, rid: id }
const sdp = sdpSchema(['offer', 'answer'], MAX_ROOM_SDP_LENGTH)
/** A peer signal names one session of the room. */
const peer = z.object({ userId: id.optional(), sessionId: id })

export const roomSignalSchema = z.discriminatedUnion('s', [
  z.object({
    s: z.literal('JOIN'), ...common,
    ve: z.boolean().default(true), ae: z.boolean().default(true),
    eg: z.enum(ENGINES).default('native'),
    op: z.object({ roomCreating: z.boolean().optional(), userFaking: z.boolean().optional() }).default({}),
  }),
  z.object({ s: z.literal('LEAVE'), ...common }),
  z.object({ s: z.literal('UPDATE'), ...common, ve: z.boolean().optional(), ae: z.boolean().optional() }),
  z.object({ s: z.literal('HEARTBEAT'), ...common, bid: z.string().max(MAX_ROOM_ID_LENGTH).default(''), send_ack: z.boolean().default(false) }),
  z.object({ s: z.literal('KICK'), ...common, to: target }),
  z.object({ s: z.literal('PUBLISH_REQUEST'), ...common, ve: z.boolean().default(true), ae: z.boolean().default(true), msg: z.string().max(1024).optional() }),
  z.object({ s: z.literal('PUBLISH_ACCEPT'), ...common, to: target }),
  z.object({ s: z.literal('PUBLISH_REJECT'), ...common, to: target }),
  // Ours: the mesh's peer signals. A publisher offers to each member; `side` says which end of
  // that connection a candidate comes from (the publisher's, or the subscriber's).
  z.object({ s: z.literal('OFFER'), ...common, to: peer, sdp }),
  z.object({ s: z.literal('ANSWER'), ...common, to: peer, sdp }),
  z.object({ s: z.literal('CANDIDATE'), ...common, to: peer, side: z.enum(['publisher', 'subscriber']), candidate: iceCandidateSchema }),
  z.object({ s: z.literal('NOTIFY'), ...common, to: peer, type: z.string().max(64), data: opaqueDataSchema }),
])

export type RoomSignal = z.infer<typeof roomSignalSchema>
export type RoomTarget = z.infer<typeof target>
export type RoomSdp = z.infer<typeof sdp>
export type RoomCandidate = z.infer<typeof iceCandidateSchema>

/**
 * A frame as the engine gets it: a valid signal, or why not — with the signal's name (or
 * 'UNKNOWN') and the original `data`, which every error ack echoes in `b.req`.
 */
export type ParsedRoomFrame =
  | { ok: true; signal: RoomSignal; req: unknown }
  | { ok: false; s: RoomSignalName | 'UNKNOWN'; req: unknown; msg: string }

/** Validates an untrusted `{action, data}` frame. Never throws. */
export function parseRoomFrame(raw: unknown): ParsedRoomFrame {
  // Before zod: its recursive walk of a frame nested thousands deep would overflow the stack.
  const shape = checkShape(raw, MAX_FRAME_DEPTH)
  if (!shape.ok) return { ok: false, s: 'UNKNOWN', req: null, msg: `frame ${shape.reason}` }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, s: 'UNKNOWN', req: raw, msg: 'a frame is a JSON object {action, data}' }
  const { action, data } = raw as { action?: unknown; data?: unknown }
  const expected = typeof action === 'string' && Object.hasOwn(ACTION_SIGNALS, action) ? ACTION_SIGNALS[action as RoomAction] : null
  const named = typeof (data as { s?: unknown } | null)?.s === 'string' ? (data as { s: string }).s : undefined
  const s = expected ?? signalName(named)
  if (!expected) return { ok: false, s, req: data ?? null, msg: `unknown action ${typeof action === 'string' ? JSON.stringify(action.slice(0, 64)) : `(${typeof action})`}; one of ${Object.keys(ACTION_SIGNALS).join(', ')}` }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, s, req: data ?? null, msg: 'data must be the signal object' }
  if (named !== undefined && named !== expected) return { ok: false, s, req: data, msg: `action ${action as string} carries the signal ${expected}, not ${named.slice(0, 64)}` }
  const parsed = roomSignalSchema.safeParse({ ...data, s: expected })
  if (parsed.success) return { ok: true, signal: parsed.data, req: data }
  const msg = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(signal)'}: ${issue.message}`).join('; ')
  return { ok: false, s, req: data, msg }
}

function signalName(name: string | undefined): RoomSignalName | 'UNKNOWN' {
  const known = Object.values(ACTION_SIGNALS) as string[]
  return name !== undefined && known.includes(name) ? (name as RoomSignalName) : 'UNKNOWN'
}

/**
 * The native protocol's request for a room frame: `{t:'req', id, op:'room', args:{action, data}}`.
 * The reply carries the ack (`result` = `{c:200, s, b}`; an error's `errorCode` is the ack's `c`);
 * pushes and forwarded signals arrive as `room` events.
 */
export const roomRequestFrameSchema = z.object({
  t: z.literal('req'),
  id: z.number().int().nonnegative(),
  op: z.literal('room'),
  args: z.unknown(),
})
