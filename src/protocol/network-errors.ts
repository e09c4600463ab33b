import type { CallErrorName } from './call-codes'
import type { RoomCodeName } from './room-codes'

/**
 * Seed 001 "NetworkErrorCode": the categories a refusal falls in. The seed names them
 * without numbers; we carry the name itself (`category` on call and room error events).
 */
export type NetworkErrorCode =
  | 'Success' | 'Stream not found' | 'Parameter error' | 'Track not found' | 'Invalid JSON'
  | 'Invalid parameters' | 'User not joined' | 'User repeated join' | "Source user doesn't exist"
  | 'Invalid user signature' | 'Invalid auth server signature' | 'No track exists' | 'Server overload'
  | 'Media server exception' | 'Unknown error'

/** Seed 002 call errors → category, where one fits (busy and wrong-state refusals have none). */
const CALL_CATEGORIES: Partial<Record<CallErrorName, NetworkErrorCode>> = {
  MALFORMED_FRAME: 'Invalid JSON',
  NO_SID: 'User not joined',
  SID_TAKEN: 'User repeated join',
  UNKNOWN_OPPONENT: "Source user doesn't exist",
  SELF_TARGET: 'Invalid parameters',
  UNKNOWN_SESSION: 'Invalid parameters',
  NOT_A_PARTY: 'User not joined',
  FORBIDDEN_SID: 'Invalid user signature',
  RATE_LIMITED: 'Server overload',
}

/** Seed 003 room codes → category, where one fits (4023 and 4051 have none). */
const ROOM_CATEGORIES: Partial<Record<RoomCodeName, NetworkErrorCode>> = {
  OK: 'Success',
  INTERNAL_SERVER_ERROR: 'Unknown error',
  INVALID_SIGNAL: 'Invalid JSON',
  UNSUPPORTED_CHANNEL: 'Invalid parameters',
  ROOM_NOT_FOUND: 'Invalid parameters',
  NOT_ROOM_MEMBER: 'User not joined',
  ALREADY_EXIST_ROOM: 'Invalid parameters',
}

export function callErrorCategory(name: CallErrorName | 'UNKNOWN'): NetworkErrorCode | null {
  return name === 'UNKNOWN' ? 'Unknown error' : CALL_CATEGORIES[name] ?? null
}

const SERVER_OVERLOAD = 'Server overload'

/** A room refusal's category; `reason` tells a JOIN refused by a busy SFU (500, "Server overload: …", seed 001) from other 500s. */
export function roomCodeCategory(name: RoomCodeName | 'UNKNOWN', reason?: string): NetworkErrorCode | null {
  if (name === 'INTERNAL_SERVER_ERROR' && reason?.startsWith(SERVER_OVERLOAD)) return SERVER_OVERLOAD
  return name === 'UNKNOWN' ? 'Unknown error' : ROOM_CATEGORIES[name] ?? null
}
