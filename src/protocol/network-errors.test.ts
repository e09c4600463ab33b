import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CALL_ERRORS, callErrorName, type CallErrorName } from './call-codes'
import { callErrorCategory, roomCodeCategory } from './network-errors'
import { ROOM_CODES, roomCodeName, type RoomCodeName } from './room-codes'

/** The README's category table: each `call NNNN …` / `room NNNN …` code with the category of its row. */
function readmeTable(): Map<string, string | null> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('| refusal | category |'))
  const rows = section.slice(0, section.indexOf('\n\n')).split('\n').slice(2)
  const table = new Map<string, string | null>()
  for (const row of rows) {
    const [codes = '', category = ''] = row.split('|').slice(1, 3).map((cell) => cell.trim())
    let kind = ''
    for (const token of codes.split(/[\s,]+/)) {
      if (token === 'call' || token === 'room') kind = token
      else if (/^\d+$/.test(token)) table.set(`${kind} ${token}`, category.startsWith('none') ? null : category)
    }
  }
  return table
}

describe('seed 001 categories of call and room refusals', () => {
  it('every call error and room code is in the README table with the category the SDK gives it', () => {
    const table = readmeTable()
    const calls = (Object.keys(CALL_ERRORS) as CallErrorName[]).map((name) => CALL_ERRORS[name][0])
    const rooms = (Object.keys(ROOM_CODES) as RoomCodeName[]).map((name) => ROOM_CODES[name])
    expect([...table.keys()].sort()).toEqual([...calls.map((code) => `call ${code}`), ...rooms.map((code) => `room ${code}`)].sort())
    for (const code of calls) expect([code, callErrorCategory(callErrorName(code))]).toEqual([code, table.get(`call ${code}`)])
    for (const code of rooms) expect([code, roomCodeCategory(roomCodeName(code))]).toEqual([code, table.get(`room ${code}`)])
  })

  it('a code the tables do not have is an unknown error', () => {
    expect(callErrorCategory(callErrorName(1999))).toBe('Unknown error')
    expect(roomCodeCategory(roomCodeName(4999))).toBe('Unknown error')
    // A JOIN refused by a busy SFU: seed 001's "Server overload", told from other 500s by its reason.
    expect(roomCodeCategory('INTERNAL_SERVER_ERROR', 'Server overload: the media server is busy')).toBe('Server overload')
    expect(roomCodeCategory('INTERNAL_SERVER_ERROR', 'internal server error: leave the room')).toBe('Unknown error')
  })
})
