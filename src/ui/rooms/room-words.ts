import { DEFAULT_PUBLISHER_CAP, ROOM_CODES, roomCodeName, type Role, type RoomCodeName, type RoomMember, type RoomType } from '../../protocol/room-codes'
import { isRtmError, type LayerRid, type RoomEngine } from '../../sdk'
import { roomCodeCategory } from '../../protocol/network-errors'
import { SFU_PUBLISHER_CAP } from '../../protocol/sfu'
import { explainError, type UserError } from '../shared/errors'

/** A room type as the lobby offers it: plain words first, the seed's code beside them. */
export interface RoomTypeChoice { type: RoomType; label: string; hint: string }

/** Seed 003 room types (`ch`), in the order the lobby lists them. */
export const ROOM_TYPE_CHOICES: readonly RoomTypeChoice[] = [
  { type: 'p2p', label: 'Private call (2)', hint: 'Two people, both on camera.' },
  { type: 'm2m', label: 'Meeting', hint: `Everyone on camera (up to ${DEFAULT_PUBLISHER_CAP} in a small meeting, ${SFU_PUBLISHER_CAP} in a large room); later arrivals watch and may raise a hand.` },
  { type: 'a2m', label: 'Moderated meeting', hint: 'You are on camera; others watch and raise a hand to speak.' },
  { type: 'p2m', label: 'Webinar', hint: 'You present; everyone else watches.' },
]

/** How a room's video travels (JOIN `eg`), as the lobby offers it when creating one. */
export interface RoomEngineChoice { engine: RoomEngine; label: string; hint: string }

export const ROOM_ENGINE_CHOICES: readonly RoomEngineChoice[] = [
  { engine: 'native', label: 'Small meeting (browsers connect directly)', hint: 'Each browser sends its video to every other one: best for a few people.' },
  { engine: 'sfu', label: 'Large room (the server forwards video)', hint: 'Each browser sends its video once and the server passes it on: for many viewers.' },
]

/** The room view's line about how video travels. */
export function engineLabel(engine: RoomEngine): string {
  return engine === 'sfu' ? 'Video forwarded by the server' : 'Video sent directly between browsers'
}

/** The layer of someone's video the server forwards us, in plain words. */
export function layerLabel(layer: LayerRid): string {
  return layer === 'h' ? 'High quality' : 'Reduced quality'
}

export function roomTypeLabel(type: RoomType): string {
  return ROOM_TYPE_CHOICES.find((choice) => choice.type === type)?.label ?? type
}

/** Publish requests (raise hand) exist in these types only (seed 003 "M2M and A2M Operation Signals"). */
export function allowsRaiseHand(type: RoomType): boolean {
  return type === 'm2m' || type === 'a2m'
}

/** Kick exists in every type but p2p (seed 003 "P2M, M2M and A2M Operation Signals"). */
export function allowsKick(type: RoomType): boolean {
  return type !== 'p2p'
}

export function roleLabel(role: Role): string {
  switch (role) {
    case 'admin': return 'Host'
    case 'publisher': return 'Speaker'
    case 'viewer': return 'Viewer'
    default: {
      const unknown: never = role
      return String(unknown)
    }
  }
}

/** Seed 001 RoomState in words. */
export function roomStateLabel(state: 'unjoined' | 'joining' | 'joined'): string {
  return { unjoined: 'Not in a room', joining: 'Joining…', joined: 'In the room' }[state]
}

/** The name a member goes by: their profile's full name or username, else their user id. */
export function memberName(member: Pick<RoomMember, 'userId' | 'username' | 'fullname'>): string {
  return member.fullname || member.username || member.userId
}

/** A member's name with their user id beside it when the name differs ("Alice Smith (alice)"). */
export function memberLabel(member: Pick<RoomMember, 'userId' | 'username' | 'fullname'>): string {
  const name = memberName(member)
  return name !== member.userId ? `${name} (${member.userId})` : name
}

/** What we were doing when a room signal was refused: the same code reads differently for each. */
export type RoomAction = 'create' | 'join' | 'update' | 'kick' | 'raise-hand' | 'accept' | 'reject' | 'leave' | 'share-screen'
  /** A refusal nobody clicked for (a heartbeat, a peer signal): the client's `error` event. */
  | 'signal'

/**
 * A refused room signal or a failure, in words people act on (ErrorNotice shows it), with
 * the seed's code kept for tests and support and folded into `detail` with the server's reason.
 */
export interface RoomProblem extends UserError { code: number | null; name: RoomCodeName | 'UNKNOWN' | null }

/**
 * Plain words for a seed 003 error code. The code's meaning (seed 003 Error Ack tables)
 * depends on what was attempted: 2002 on join is a full room or another type; 4051 on a
 * kick means "only the host".
 */
export function roomCodeText(code: number, action: RoomAction): string {
  switch (roomCodeName(code)) {
    case 'ROOM_NOT_FOUND': return 'No room with that id — check the link'
    case 'ALREADY_EXIST_ROOM': return 'That room already exists — join it instead'
    case 'UNSUPPORTED_CHANNEL':
      if (action === 'join' || action === 'share-screen') return 'That room is full, or it is another type of room — check the type in the link'
      return 'That is not possible in this type of room'
    case 'NOT_ROOM_MEMBER': return action === 'leave' ? 'You were no longer in the room' : 'That person is no longer in the room'
    case 'ALREADY_IS_PUBLISHER': return 'You can already speak in this room'
    case 'PERMISSION_NOT_FOUND': return action === 'update' ? 'Only people on camera can turn their mic or camera on and off' : 'Only the host can do that'
    case 'INVALID_SIGNAL': return 'The server refused that request — reload the page and try again'
    case 'INTERNAL_SERVER_ERROR': return 'The server had a problem — leave the room and try again'
    case 'OK': return 'Done'
    case 'UNKNOWN': return 'The server said no — try again in a moment'
    default: return 'The server said no — try again in a moment'
  }
}

/** Browser media failures (getUserMedia / getDisplayMedia) in words: the camera's as everywhere in the app (explainError). */
function mediaProblem(error: { name: string; message: string }, action: RoomAction): RoomProblem {
  const detail = `${error.name}: ${error.message}`
  const problem = (message: string, then?: string): RoomProblem => ({ message, ...(then ? { action: then } : {}), detail, code: null, name: null })
  if (action === 'share-screen') {
    if (error.name === 'NotAllowedError') return problem('Screen sharing was not allowed.', 'Press Share screen again and pick what to share.')
    if (error.name === 'NotSupportedError') return problem('This browser cannot share the screen.')
    return problem('Screen sharing did not start.', 'Try again in a moment.')
  }
  if (error.name === 'NotSupportedError') return problem('This browser cannot use the camera and microphone.')
  const words = explainError(Object.assign(new Error(error.message), { name: error.name }))
  return words.action ? problem(words.message, words.action) : problem('Your camera or microphone did not start.', 'Try again in a moment.')
}

/** The media failure named in an SDK `MEDIA` event ("cannot open the camera: NotAllowedError: …"). */
function mediaEventError(message: string): { name: string; message: string } {
  const named = /\b([A-Z][A-Za-z]*Error)\b/.exec(message)
  return { name: named?.[1] ?? 'Error', message }
}

/**
 * Any failure of a room action as a RoomProblem: an error ack (`{errorCode, name, reason}`
 * from RoomClient), an `error` event (`{code, name, message}`), a media error, or anything else.
 */
export function describeRoomProblem(error: unknown, action: RoomAction): RoomProblem {
  if (typeof DOMException !== 'undefined' && error instanceof DOMException) return mediaProblem(error, action)
  if (typeof error === 'object' && error !== null) {
    const coded = error as { errorCode?: unknown; code?: unknown; name?: unknown; reason?: unknown; message?: unknown; category?: unknown }
    if (coded.name === 'MEDIA') return mediaProblem(mediaEventError(String(coded.message)), action)
    const code = typeof coded.errorCode === 'number' ? coded.errorCode : typeof coded.code === 'number' ? coded.code : null
    // Seed 000's codes are negative (the link to the server, sign-in): the app's words for them.
    if (isRtmError(error) && error.errorCode < 0) return { ...explainError(error), code: error.errorCode, name: null }
    if (code !== null && code !== ROOM_CODES.OK && !(error instanceof Error)) {
      const name = roomCodeName(code)
      const reason = typeof coded.reason === 'string' ? coded.reason : typeof coded.message === 'string' ? coded.message : ''
      const category = typeof coded.category === 'string' ? ` (${coded.category})` : ''
      // A JOIN refused by a busy SFU is a 500 too (seed 001's "Server overload"), but nothing failed: it is worth another try.
      const message = roomCodeCategory(name, reason) === 'Server overload' ? 'The video server is busy right now — try again in a moment' : roomCodeText(code, action)
      return { message, detail: `${code} ${name}${category}${reason ? `: ${reason}` : ''}`, code, name }
    }
    if (typeof coded.message === 'string' && coded.message) return { message: coded.message, code: null, name: null }
  }
  const text = error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error)
  return { message: text || 'Something went wrong', code: null, name: null }
}

/** Where a room link carries the room: `?room=<rid>&type=<ch>` (plus app and mode), opening the Rooms panel (`#rooms`). */
export const ROOM_PARAM = 'room'
export const TYPE_PARAM = 'type'
export const ROOMS_HASH = '#rooms'

/**
 * The link to send to others: this page with the room id and type, the app and the mode
 * (the others must be in the same app, over the same kind of connection), and `#rooms`.
 * Who signs in is theirs to say, so `user` is dropped.
 */
export function roomLink(page: string, room: { rid: string; type: RoomType }, app: { appId: string; mode: string }): string {
  const url = new URL(page)
  url.search = ''
  url.searchParams.set('app', app.appId)
  url.searchParams.set('mode', app.mode)
  url.searchParams.set(ROOM_PARAM, room.rid)
  url.searchParams.set(TYPE_PARAM, room.type)
  url.hash = ROOMS_HASH
  return url.toString()
}

const TYPES = new Set<string>(ROOM_TYPE_CHOICES.map((choice) => choice.type))
const isRoomType = (value: string | null): value is RoomType => value !== null && TYPES.has(value)

/**
 * What a link (or a query string) says about a room: its id and, when given, its type.
 * A bare id (not a link) comes back as the id. Null when there is no room in it.
 */
export function parseRoomLink(text: string): { rid: string; type: RoomType | null } | null {
  const trimmed = text.trim()
  if (!trimmed) return null
  let params: URLSearchParams | null = null
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    try {
      params = new URL(trimmed).searchParams
    } catch {
      return null
    }
  } else if (trimmed.startsWith('?')) {
    params = new URLSearchParams(trimmed)
  }
  if (!params) return { rid: trimmed, type: null }
  const rid = params.get(ROOM_PARAM)?.trim()
  if (!rid) return null
  const type = params.get(TYPE_PARAM)
  return { rid, type: isRoomType(type) ? type : null }
}

/** A viewer's raised hand (seed 003 PUBLISH_REQUEST) as the viewer sees it. */
export type HandState = 'down' | 'pending' | 'accepted' | 'rejected'

export function handText(hand: HandState): string {
  switch (hand) {
    case 'down': return ''
    case 'pending': return 'Hand raised — waiting for the host'
    case 'accepted': return 'The host let you speak: you are on camera'
    case 'rejected': return 'The host declined your request'
    default: {
      const unknown: never = hand
      return String(unknown)
    }
  }
}
