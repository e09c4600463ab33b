import { describe, expect, it } from 'vitest'
import { describeRoomProblem, engineLabel, layerLabel, memberLabel, parseRoomLink, roomCodeText, roomLink, ROOM_ENGINE_CHOICES, ROOM_TYPE_CHOICES } from './room-words'

describe('room words', () => {
  it('offers the two ways video travels in plain words, the seed 003 engine beside each', () => {
    expect(ROOM_ENGINE_CHOICES.map((choice) => [choice.engine, choice.label])).toEqual([
      ['native', 'Small meeting (browsers connect directly)'], ['sfu', 'Large room (the server forwards video)'],
    ])
    expect(engineLabel('sfu')).toBe('Video forwarded by the server')
  })

  it('says which layer of someone’s video arrives in plain words', () => {
    expect(layerLabel('h')).toBe('High quality')
    expect(layerLabel('l')).toBe('Reduced quality')
  })

  it('offers the four seed 003 types in plain words, the code beside each', () => {
    expect(ROOM_TYPE_CHOICES.map((choice) => [choice.type, choice.label])).toEqual([
      ['p2p', 'Private call (2)'], ['m2m', 'Meeting'], ['a2m', 'Moderated meeting'], ['p2m', 'Webinar'],
    ])
  })

  it('says what to do about a missing or existing room', () => {
    expect(roomCodeText(4001, 'join')).toBe('No room with that id — check the link')
    expect(roomCodeText(4022, 'create')).toBe('That room already exists — join it instead')
  })

  it('reads the same code by what was attempted: 4051 on a kick is "only the host", on a mute "only people on camera"', () => {
    expect(roomCodeText(4051, 'kick')).toBe('Only the host can do that')
    expect(roomCodeText(4051, 'update')).toMatch(/Only people on camera/)
    expect(roomCodeText(2002, 'join')).toMatch(/full, or it is another type/)
  })

  it('turns an error ack, an error event and a media failure into words, keeping the code folded', () => {
    expect(describeRoomProblem({ errorCode: 4001, name: 'ROOM_NOT_FOUND', reason: 'no room', operation: 'room' }, 'join'))
      .toEqual({ message: 'No room with that id — check the link', detail: '4001 ROOM_NOT_FOUND: no room', code: 4001, name: 'ROOM_NOT_FOUND' })
    expect(describeRoomProblem({ code: 4023, name: 'ALREADY_IS_PUBLISHER', category: null, message: '' }, 'raise-hand'))
      .toMatchObject({ message: 'You can already speak in this room', detail: '4023 ALREADY_IS_PUBLISHER' })
    expect(describeRoomProblem(new DOMException('denied', 'NotAllowedError'), 'share-screen').message).toBe('Screen sharing was not allowed.')
    expect(describeRoomProblem(new Error('boom'), 'join')).toEqual({ message: 'boom', code: null, name: null })
    // A busy SFU's refusal (500 "Server overload: …") reads as busy, not as a failure.
    expect(describeRoomProblem({ errorCode: 500, name: 'INTERNAL_SERVER_ERROR', reason: 'Server overload: the media server is busy', operation: 'room' }, 'join').message)
      .toBe('The video server is busy right now — try again in a moment')
    expect(describeRoomProblem({ errorCode: 500, name: 'INTERNAL_SERVER_ERROR', reason: 'internal server error', operation: 'room' }, 'join').message)
      .toBe('The server had a problem — leave the room and try again')
  })

  it('says a blocked camera as the rest of the app does, with what to do, and never as a connection failure', () => {
    const blocked = { message: 'Camera or microphone blocked.', action: 'Allow them in the address bar (the camera icon), then try again.' }
    expect(describeRoomProblem(new DOMException('Permission denied', 'NotAllowedError'), 'join'))
      .toEqual({ ...blocked, detail: 'NotAllowedError: Permission denied', code: null, name: null })
    // The SDK's `error` event when the room's camera cannot open.
    expect(describeRoomProblem({ code: 0, name: 'MEDIA', category: null, message: 'cannot open the camera: NotAllowedError: Permission denied' }, 'signal'))
      .toMatchObject(blocked)
  })

  it('reads a code it does not know as a refusal, the number kept in the detail', () => {
    expect(describeRoomProblem({ errorCode: 4999, name: 'UNKNOWN', reason: 'new', operation: 'room' }, 'join'))
      .toEqual({ message: 'The server said no — try again in a moment', detail: '4999 UNKNOWN: new', code: 4999, name: 'UNKNOWN' })
  })

  it('words a lost link to the server (seed 000 codes) as the rest of the app does', () => {
    const problem = describeRoomProblem({ error: true, errorCode: -10025, name: 'NOT_CONNECTED', reason: 'no answer within 10000 ms', operation: 'room' }, 'join')
    expect(problem).toMatchObject({ message: 'Not connected to the server right now.', code: -10025 })
    expect(problem.detail).toBe('-10025 NOT_CONNECTED: no answer within 10000 ms')
  })

  it('makes a link with the room, its type, the app and the mode, opening #rooms, without who signed in', () => {
    const link = roomLink('http://127.0.0.1:5173/?user=alice&app=x#calls', { rid: 'r 1', type: 'a2m' }, { appId: 'demo', mode: 'relay' })
    const url = new URL(link)
    expect(url.hash).toBe('#rooms')
    expect(Object.fromEntries(url.searchParams)).toEqual({ app: 'demo', mode: 'relay', room: 'r 1', type: 'a2m' })
  })

  it('reads a room back from a link, a query string or a bare id', () => {
    const link = roomLink('http://h/', { rid: 'abc', type: 'p2m' }, { appId: 'demo', mode: 'relay' })
    expect(parseRoomLink(link)).toEqual({ rid: 'abc', type: 'p2m' })
    expect(parseRoomLink('?room=xyz&type=nope')).toEqual({ rid: 'xyz', type: null })
    expect(parseRoomLink('  some-id ')).toEqual({ rid: 'some-id', type: null })
    expect(parseRoomLink('?user=alice')).toBeNull()
    expect(parseRoomLink('')).toBeNull()
  })

  it('names a member by profile with the user id beside it, or by user id alone', () => {
    expect(memberLabel({ userId: 'alice', fullname: 'Alice Smith' })).toBe('Alice Smith (alice)')
    expect(memberLabel({ userId: 'bob', username: 'bob' })).toBe('bob')
    expect(memberLabel({ userId: 'carol' })).toBe('carol')
  })
})
