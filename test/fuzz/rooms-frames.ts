import fc from 'fast-check'
import { CATEGORIES, ENGINES, HOSTS, ROOM_TYPES, isPeerSignal, parseRoomFrame } from '../../src/protocol/rooms'
import { anyValue, deep, garbage, hugeString, mutated, weirdString } from './garbage'
import { SAMPLE_CANDIDATE, SAMPLE_OFFER, brokenItems, jsonItem, jsonOf, notJsonText, wsSession, type WsItem } from './ws-frames'

/** One WebSocket frame to /ws/rooms: JSON text, text that is not JSON, or binary. */
export type RoomsItem = WsItem

export interface RoomsContext {
  /** userIds this lane's signals claim (its sockets are anonymous: any userId is theirs to claim). */
  users: string[]
  /** Sessions this lane's signals use (each of one of `users`). */
  sessions: { userId: string; sessionId: string }[]
  /** Room ids: the lane's own, and the well-behaved members' room. */
  rids: string[]
  /** Sessions of well-behaved members: targets of kicks, accepts and peer signals. */
  others: string[]
}

const ACTIONS = ['join', 'leave', 'updateVideo', 'heartbeat', 'kick', 'publishRequest', 'publishAccept', 'publishReject', 'offer', 'answer', 'candidate', 'notify'] as const
/** Ids one past the 128-character bound. */
const tooLong = fc.constant('s'.repeat(129))

/** Seed 003's signals (and our peer signals) of every action, aimed at the lane's rooms and at real members. */
export function roomTemplates(ctx: RoomsContext): fc.Arbitrary<Record<string, unknown>> {
  const user = fc.constantFrom(...ctx.users)
  const sessionIds = ctx.sessions.map((own) => own.sessionId)
  // Mostly a session with its own user; sometimes another user's, or an id past the bound.
  const who = fc.oneof(
    { arbitrary: fc.constantFrom(...ctx.sessions), weight: 12 },
    { arbitrary: fc.record({ userId: user, sessionId: fc.oneof(fc.constantFrom(...sessionIds), tooLong) }), weight: 1 },
  )
  const anySession = fc.constantFrom(...sessionIds, ...ctx.others, 'nobody')
  const ss = fc.tuple(who, fc.record({
    category: fc.constantFrom(...CATEGORIES),
    host: fc.oneof({ arbitrary: fc.constantFrom(...HOSTS), weight: 9 }, { arbitrary: fc.constant('Amiga'), weight: 1 }),
    deviceId: fc.constantFrom('dev', ''),
  }, { requiredKeys: [] })).map(([own, rest]) => ({ ...own, ...rest }))
  const common = { ch: fc.constantFrom(...ROOM_TYPES), ss, rid: fc.oneof({ arbitrary: fc.constantFrom(...ctx.rids), weight: 9 }, { arbitrary: tooLong, weight: 1 }) }
  const to = fc.oneof(user, fc.constantFrom(...ctx.others), fc.record({ userId: user, sessionId: anySession }, { requiredKeys: ['sessionId'] }))
  // 'sfu': the forwarding unit of an SFU room (rooms created with eg 'sfu' on a relay that has one).
  const peer = fc.record({ sessionId: fc.oneof({ arbitrary: anySession, weight: 6 }, { arbitrary: fc.constant('sfu'), weight: 3 }, { arbitrary: tooLong, weight: 1 }) })
  const sdp = fc.oneof(
    { arbitrary: fc.constant(SAMPLE_OFFER), weight: 4 },
    { arbitrary: fc.constant('v=0\r\n'), weight: 2 },
    { arbitrary: fc.constant('v'.repeat(65_537)), weight: 1 }, // past MAX_ROOM_SDP_LENGTH
  )
  const candidate = fc.oneof(fc.constant(SAMPLE_CANDIDATE), fc.constant(''), fc.constant({ candidate: '', sdpMLineIndex: -1 }))
  const signal = <A extends string>(action: A, s: string, fields: Record<string, fc.Arbitrary<unknown>>, weight: number) => ({
    arbitrary: fc.tuple(fc.record({ ...common, ...fields }), fc.constantFrom(s, s, s, undefined)).map(([data, name]) => ({ action, data: name === undefined ? data : { s: name, ...data } })),
    weight,
  })
  const bool = fc.boolean()
  return fc.oneof(
    signal('join', 'JOIN', { ve: bool, ae: bool, eg: fc.oneof({ arbitrary: fc.constantFrom(...ENGINES), weight: 9 }, { arbitrary: fc.constant('webrtc'), weight: 1 }), op: fc.record({ roomCreating: bool, userFaking: bool }, { requiredKeys: [] }) }, 8),
    signal('leave', 'LEAVE', {}, 2),
    signal('updateVideo', 'UPDATE', { ve: bool, ae: bool }, 2),
    signal('heartbeat', 'HEARTBEAT', { bid: fc.constantFrom('b1', 'b2', 'b3', 'x'.repeat(129)), send_ack: bool }, 3),
    signal('kick', 'KICK', { to }, 2),
    signal('publishRequest', 'PUBLISH_REQUEST', { ve: bool, ae: bool, msg: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('m'.repeat(1025))) }, 2),
    signal('publishAccept', 'PUBLISH_ACCEPT', { to }, 2),
    signal('publishReject', 'PUBLISH_REJECT', { to }, 1),
    signal('offer', 'OFFER', { to: peer, sdp }, 3),
    signal('answer', 'ANSWER', { to: peer, sdp }, 1),
    signal('candidate', 'CANDIDATE', { to: peer, side: fc.constantFrom('publisher', 'subscriber', 'publisher', 'subscriber', 'both'), candidate }, 2),
    signal('notify', 'NOTIFY', { to: peer, type: fc.constantFrom('sk.diagnose', 'sk.diagnosis', 't'.repeat(65)), data: fc.oneof(fc.constant({ id: 'd1' }), anyValue, deep) }, 2),
    // A signal under another action's envelope: 2001.
    { arbitrary: fc.tuple(fc.constantFrom(...ACTIONS), fc.constantFrom('JOIN', 'KICK', 'OFFER', 'PUBLISH_LIST_CHANGED')).map(([action, s]) => ({ action, data: { s, ch: 'm2m', rid: ctx.rids[0], ss: ctx.sessions[0] } })), weight: 1 },
  )
}

/** Text that is not JSON (or not quite). */
const notJson = notJsonText(['', 'NaN', '{"action":"join",}', '{"action":"join"', '[', 'undefined', "{'action':'join'}", '\u0000'])

/** A connection's frames: valid, mutated, generated and broken, oversized ones last. */
export function roomsSession(ctx: RoomsContext, length: number): fc.Arbitrary<RoomsItem[]> {
  const templates = roomTemplates(ctx)
  const join = fc.tuple(fc.constantFrom(...ctx.sessions), fc.constantFrom(...ctx.rids), fc.boolean())
    .map(([ss, rid, roomCreating]) => jsonItem({ action: 'join', data: { s: 'JOIN', ch: 'm2m', rid, ss, op: { roomCreating } } }))
  const item = fc.oneof(
    { arbitrary: templates.map(jsonItem), weight: 8 },
    { arbitrary: join, weight: 2 },
    { arbitrary: mutated(templates).map(jsonItem), weight: 6 },
    { arbitrary: fc.record({ action: fc.oneof(fc.constantFrom(...ACTIONS, '__proto__', 'constructor', 'toString', 'JOIN'), weirdString), data: fc.oneof(garbage, fc.record({ s: fc.oneof(weirdString, fc.constant('HEARTBEAT')), rid: garbage, ss: anyValue, to: garbage })) }, { requiredKeys: [] }).map(jsonItem), weight: 3 },
    { arbitrary: fc.record({ action: fc.constantFrom(...ACTIONS), data: fc.oneof(deep, hugeString) }).map(jsonItem), weight: 1 },
    ...brokenItems(notJson),
  )
  // Most connections JOIN first, so that the signals after it act as a member.
  return wsSession(join, item, length)
}

/**
 * Whether the relay must answer this frame with an ack `{c, s, b}` whatever its state: all
 * but a valid HEARTBEAT without send_ack and a valid peer signal, which are acked only if refused.
 */
export function mustBeAcked(item: RoomsItem): boolean {
  const json = jsonOf(item)
  if (json === undefined) return true
  const parsed = parseRoomFrame(json.value)
  if (!parsed.ok) return true
  const { signal } = parsed
  if (isPeerSignal(signal.s)) return false
  return !(signal.s === 'HEARTBEAT' && !signal.send_ack)
}
