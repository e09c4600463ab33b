import { describe, expect, it } from 'vitest'
import type { CallInfo } from '../../sdk'
import { callErrorWords, callStatus, endReasonText, explainCallError, formatDuration, initials, personState } from './call-words'
import { isMediaError } from '../shared/errors'

const call = (over: Partial<CallInfo> = {}): CallInfo => ({
  sessionId: 's1', peer: 'alice', direction: 'outgoing', state: 'PENDING', startedAt: null, reconnecting: false, endReason: null, ...over,
})

describe('call words', () => {
  it('names list states as people say them, and our own call’s other party as ringing or with us', () => {
    expect(personState({ sId: 'bob', state: 'WAIT' }, null)).toEqual({ label: 'Available', tone: 'available' })
    expect(personState({ sId: 'bob', state: 'CALLING' }, null)).toEqual({ label: 'In a call', tone: 'busy' })
    expect(personState({ sId: 'alice', state: 'WAIT' }, call()).label).toBe('Ringing')
    expect(personState({ sId: 'alice', state: 'WAIT' }, call({ state: 'ACTIVE', startedAt: 1 })).label).toBe('In a call with you')
    expect(personState({ sId: 'bob', state: 'WAIT' }, call()).label).toBe('Available')
  })

  it('says what the call in progress is doing', () => {
    expect(callStatus(call())).toBe('Calling alice…')
    expect(callStatus(call({ direction: 'incoming' }))).toBe('alice is calling')
    expect(callStatus(call({ direction: 'incoming' }), true)).toBe('Connecting to alice…')
    expect(callStatus(call({ state: 'ACTIVE', startedAt: 1 }))).toBe('In a call with alice')
    expect(callStatus(call({ state: 'ACTIVE', startedAt: 1, reconnecting: true }))).toBe('Reconnecting…')
  })

  it('says why a call ended in plain words, from our side', () => {
    const ended = (endReason: CallInfo['endReason'], over: Partial<CallInfo> = {}) => endReasonText(call({ state: 'CLOSED', endReason, ...over }))
    expect(ended('no-answer')).toBe('No answer')
    expect(ended('no-answer', { direction: 'incoming' })).toBe('Missed call')
    expect(ended('busy')).toBe('Busy')
    expect(ended('rejected')).toBe('Declined')
    expect(ended('declined', { direction: 'incoming' })).toBe('You declined')
    expect(ended('stopped', { startedAt: 1 })).toBe('alice hung up')
    expect(ended('stopped', { direction: 'incoming' })).toBe('Missed call')
    expect(ended('hangup')).toBe('Cancelled')
    expect(ended('hangup', { startedAt: 1 })).toBe('You hung up')
    expect(ended('failed')).toBe('Call failed')
    expect(ended('leave', { startedAt: 1 })).toBe('Connection lost')
    expect(ended(null)).toBe('Call ended')
  })

  it('does not blame the connection when our own camera or microphone stopped the call', () => {
    expect(endReasonText(call({ state: 'CLOSED', endReason: 'failed' }), true)).toBe('Call not started')
    expect(endReasonText(call({ state: 'CLOSED', endReason: 'failed', startedAt: 1 }), true)).toBe('Call stopped')
    expect(endReasonText(call({ state: 'CLOSED', endReason: 'hangup' }), true)).toBe('Cancelled')
  })

  it('formats durations as mm:ss, with hours past an hour', () => {
    expect(formatDuration(0)).toBe('00:00')
    expect(formatDuration(9.7)).toBe('00:09')
    expect(formatDuration(83)).toBe('01:23')
    expect(formatDuration(3600 + 62)).toBe('1:01:02')
  })

  it('makes initials from names of any script', () => {
    expect(initials('alice')).toBe('A')
    expect(initials('bob-smith')).toBe('BS')
    expect(initials('carol de la mer')).toBe('CD')
    expect(initials('élodie')).toBe('É')
    expect(initials('--')).toBe('?')
  })

  it('says a call server refusal in words, with its code, name, category and message folded away', () => {
    expect(callErrorWords({ code: 1004, name: 'UNKNOWN_OPPONENT', category: "Source user doesn't exist", message: 'no client has that sId' })).toEqual({
      message: 'They are not online any more.', action: 'Try again when they are back.',
      detail: "1004 UNKNOWN_OPPONENT (Source user doesn't exist): no client has that sId",
    })
    expect(callErrorWords({ code: 1005, name: 'SELF_TARGET', category: null, message: 'x' })).toEqual({ message: 'You cannot call yourself.', detail: '1005 SELF_TARGET: x' })
    expect(callErrorWords({ code: 1999, name: 'UNKNOWN', category: 'Unknown error', message: 'new' }).message).toBe('The call server refused that.')
  })

  it('explains a refused call action by the call table, and a blocked camera as the rest of the app does', () => {
    expect(explainCallError({ error: true, errorCode: 1012, name: 'RATE_LIMITED', reason: 'slow down', operation: 'call' }))
      .toEqual({ message: 'Too many actions at once.', action: 'Wait a second, then try again.', detail: '1012 RATE_LIMITED: slow down' })
    const blocked = explainCallError(new DOMException('Permission denied', 'NotAllowedError'))
    expect(blocked.message).toBe('Camera or microphone blocked.')
    expect(blocked.action).toMatch(/^Allow them in the address bar/)
    expect(`${blocked.message} ${blocked.action}`).not.toMatch(/connection/i)
  })

  it('tells the camera’s and microphone’s failures from others', () => {
    expect(isMediaError(new DOMException('denied', 'NotAllowedError'))).toBe(true)
    expect(isMediaError(new DOMException('none', 'NotFoundError'))).toBe(true)
    expect(isMediaError(new Error('the call ended'))).toBe(false)
    expect(isMediaError({ name: 'NotAllowedError' })).toBe(false)
  })
})
