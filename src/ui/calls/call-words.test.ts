import { describe, expect, it } from 'vitest'
import type { CallInfo } from '../../sdk'
import { callStatus, endReasonText, formatDuration, initials, personState } from './call-words'

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
})
