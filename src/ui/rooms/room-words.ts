import { ROOM_CODES, roomCodeName, type Role, type RoomCodeName, type RoomMember, type RoomType } from '../../protocol/room-codes'

/** A room type as the lobby offers it: plain words first, the seed's code beside them. */
export interface RoomTypeChoice { type: RoomType; label: string; hint: string }

/** Seed 003 room types (`ch`), in the order the lobby lists them. */
export const ROOM_TYPE_CHOICES: readonly RoomTypeChoice[] = [
  { type: 'p2p', label: 'Private call (2)', hint: 'Two people, both on camera.' },
  { type: 'm2m', label: 'Meeting', hint: 'Everyone on camera, up to six; later arrivals watch and may raise a hand.' },
  { type: 'a2m', label: 'Moderated meeting', hint: 'You are on camera; others watch and raise a hand to speak.' },
  { type: 'p2m', label: 'Webinar', hint: 'You present; everyone else watches.' },
]

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

/** A refused room signal or a failure, in words people act on, with the seed's code kept for support. */
export interface RoomProblem { message: string; code: number | null; name: RoomCodeName | 'UNKNOWN' | null }

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
    case 'UNKNOWN': return `The server said no (code ${code})`
    default: return `The server said no (code ${code})`
  }
}

/** Browser media failures (getUserMedia / getDisplayMedia) in words. */
function mediaText(error: DOMException, action: RoomAction): string {
  const what = action === 'share-screen' ? 'screen sharing' : 'your camera and microphone'
  switch (error.name) {
    case 'NotAllowedError': return action === 'share-screen' ? 'Screen sharing was not allowed' : 'The browser blocked your camera and microphone — allow them and try again'
    case 'NotFoundError': return 'No camera or microphone found'
    case 'NotReadableError': return 'Your camera or microphone is in use by another program'
    case 'NotSupportedError': return `This browser does not support ${what}`
    default: return `Could not start ${what}: ${error.message || error.name}`
  }
}

/**
 * Any failure of a room action as a RoomProblem: an error ack (`{errorCode, name, reason}`
 * from RoomClient), an `error` event (`{code, name, message}`), a media error, or anything else.
 */
export function describeRoomProblem(error: unknown, action: RoomAction): RoomProblem {
  if (typeof error === 'object' && error !== null) {
    const coded = error as { errorCode?: unknown; code?: unknown }
    const code = typeof coded.errorCode === 'number' ? coded.errorCode : typeof coded.code === 'number' ? coded.code : null
    if (code !== null && code !== ROOM_CODES.OK && roomCodeName(code) !== 'UNKNOWN') {
      return { message: roomCodeText(code, action), code, name: roomCodeName(code) }
    }
    if (typeof DOMException !== 'undefined' && error instanceof DOMException) return { message: mediaText(error, action), code: null, name: null }
    const event = error as { name?: unknown; message?: unknown }
    if (event.name === 'MEDIA') return { message: `Your camera or microphone could not start (${String(event.message)})`, code: null, name: null }
    if (typeof event.message === 'string' && event.message) return { message: event.message, code: null, name: null }
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
