import { MAX_OPAQUE_DEPTH, checkShape } from '../../protocol/bounds'
import type { IntervalDetail, UserState } from '../../protocol/events'

/**
 * How an EasyRTC room member lives in the engine: as presence states of its user in the
 * room's message channel. `show`, `status`, `username` and `roomJoinTime` are EasyRTC's
 * own fields; every other key is a room API field whose value is JSON. So an SDK user's
 * states show up in EasyRTC occupant lists as API fields, and the other way round.
 */
export const RESERVED_STATE_KEYS = ['show', 'status', 'username', 'roomJoinTime'] as const
const RESERVED = new Set<string>(RESERVED_STATE_KEYS)
/** EasyRTC's default presence (easyrtc_public_obj.js createConnection). */
export const DEFAULT_SHOW = 'chat'

export interface ApiField { fieldName: string; fieldValue: unknown }

export interface ClientEntry {
  easyrtcid: string
  roomJoinTime: number
  presence: { show: string; status: string | null }
  apiField?: Record<string, ApiField>
  username?: string
}

export interface RoomDelta {
  roomName: string
  roomStatus: 'update'
  clientListDelta: { updateClient?: Record<string, ClientEntry>; removeClient?: Record<string, { easyrtcid: string }> }
}

export interface Presence { show: string; status: string | null }

/** The states an EasyRTC client carries into a room it joins. */
export function joinStates(presence: Presence, username: string | undefined, joinTime: number): Record<string, string> {
  const states: Record<string, string> = { show: presence.show, roomJoinTime: String(joinTime) }
  if (presence.status !== null) states.status = presence.status
  if (username !== undefined) states.username = username
  return states
}

/** A room API field value as a state value: JSON, so any JSON value survives the trip. */
export function encodeField(value: unknown): string {
  const field = value as Partial<ApiField> | null
  const fieldValue = typeof field === 'object' && field !== null && 'fieldValue' in field ? field.fieldValue : value
  return JSON.stringify(fieldValue ?? null)
}

/** A state value as a field value: JSON when it parses (ours), the plain string otherwise (an SDK user's). */
export function decodeValue(text: string): unknown {
  let value: unknown
  try {
    value = JSON.parse(text) as unknown
  } catch {
    return text // not JSON: an SDK user's plain string state
  }
  // Any user's text ends up here: JSON nested deeper than EasyRTC data needs stays text, so
  // that re-encoding it for the recipients (socket.io walks it recursively) cannot overflow.
  return checkShape(value, MAX_OPAQUE_DEPTH).ok ? value : text
}

/**
 * One occupant as EasyRTC describes it. `withEmptyApiField` makes a delta carry `apiField: {}`
 * so that a client drops fields that were removed (it only overwrites keys it is sent).
 */
export function clientEntry(userId: string, states: Record<string, string>, fallbackJoinTime: number, withEmptyApiField = false): ClientEntry {
  const entry: ClientEntry = {
    easyrtcid: userId,
    roomJoinTime: Number(states.roomJoinTime) || fallbackJoinTime,
    presence: { show: states.show ?? DEFAULT_SHOW, status: states.status ?? null },
  }
  const apiField: Record<string, ApiField> = {}
  for (const [key, value] of Object.entries(states)) {
    if (!RESERVED.has(key)) apiField[key] = { fieldName: key, fieldValue: decodeValue(value) }
  }
  if (withEmptyApiField || Object.keys(apiField).length > 0) entry.apiField = apiField
  if (states.username !== undefined) entry.username = states.username
  return entry
}

/** The clientList of a room from the engine's SNAPSHOT. */
export function clientList(snapshot: UserState[], now: number): Record<string, ClientEntry> {
  const list: Record<string, ClientEntry> = {}
  for (const user of snapshot) list[user.userId] = clientEntry(user.userId, user.states, now)
  return list
}

export function updateDelta(roomName: string, entries: ClientEntry[]): RoomDelta {
  return { roomName, roomStatus: 'update', clientListDelta: { updateClient: Object.fromEntries(entries.map((e) => [e.easyrtcid, e])) } }
}

export function removeDelta(roomName: string, userIds: string[]): RoomDelta {
  return { roomName, roomStatus: 'update', clientListDelta: { removeClient: Object.fromEntries(userIds.map((id) => [id, { easyrtcid: id }])) } }
}

/** An INTERVAL's joins, state changes, leaves and timeouts as one roomData delta. */
export function intervalDelta(roomName: string, interval: IntervalDetail, now: number): RoomDelta {
  const states = new Map(interval.userStateList.map((user) => [user.userId, user.states]))
  const updateClient: Record<string, ClientEntry> = {}
  for (const userId of interval.join.users) updateClient[userId] = clientEntry(userId, states.get(userId) ?? {}, now, true)
  for (const [userId, userStates] of states) updateClient[userId] ??= clientEntry(userId, userStates, now, true)
  const gone = [...interval.leave.users, ...interval.timeout.users]
  const delta: RoomDelta = { roomName, roomStatus: 'update', clientListDelta: {} }
  if (Object.keys(updateClient).length > 0) delta.clientListDelta.updateClient = updateClient
  if (gone.length > 0) delta.clientListDelta.removeClient = removeDelta(roomName, gone).clientListDelta.removeClient
  return delta
}

export function isReservedKey(key: string): boolean {
  return RESERVED.has(key)
}
