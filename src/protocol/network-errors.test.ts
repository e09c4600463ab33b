import { describe, expect, it } from 'vitest'
import { CALL_ERRORS, type CallErrorName } from './call-codes'
import { callErrorCategory, roomCodeCategory } from './network-errors'
import { ROOM_CODES, type RoomCodeName } from './room-codes'

describe('seed 001 categories of call and room refusals (the README table)', () => {
  it('call errors', () => {
    const table = Object.fromEntries((Object.keys(CALL_ERRORS) as CallErrorName[]).map((name) => [name, callErrorCategory(name)]))
    expect(table).toEqual({
      MALFORMED_FRAME: 'Invalid JSON',
      NO_SID: 'User not joined',
      SID_TAKEN: 'User repeated join',
      UNKNOWN_OPPONENT: "Source user doesn't exist",
      SELF_TARGET: 'Invalid parameters',
      OPPONENT_BUSY: null,
      BUSY: null,
      UNKNOWN_SESSION: 'Invalid parameters',
      NOT_A_PARTY: 'User not joined',
      WRONG_STATE: null,
      FORBIDDEN_SID: 'Invalid user signature',
      RATE_LIMITED: 'Server overload',
    })
    expect(callErrorCategory('UNKNOWN')).toBe('Unknown error')
  })

  it('room codes', () => {
    const table = Object.fromEntries((Object.keys(ROOM_CODES) as RoomCodeName[]).map((name) => [name, roomCodeCategory(name)]))
    expect(table).toEqual({
      OK: 'Success',
      INTERNAL_SERVER_ERROR: 'Unknown error',
      INVALID_SIGNAL: 'Invalid JSON',
      UNSUPPORTED_CHANNEL: 'Invalid parameters',
      ROOM_NOT_FOUND: 'Invalid parameters',
      NOT_ROOM_MEMBER: 'User not joined',
      ALREADY_EXIST_ROOM: 'Invalid parameters',
      ALREADY_IS_PUBLISHER: null,
      PERMISSION_NOT_FOUND: null,
    })
  })
})
