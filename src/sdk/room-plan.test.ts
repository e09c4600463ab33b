import { describe, expect, it } from 'vitest'
import type { RoomMember } from '../protocol/room-codes'
import { diffLinks, planLinks, sameConnection, sdpSessionId } from './room-plan'

function member(sessionId: string, fields: Partial<RoomMember> = {}): RoomMember {
  return {
    id: sessionId, sessionId, role: 'publisher', video: true, audio: true, publish: true, userId: `user-${sessionId}`,
    host: 'Web', category: 'stream', deviceId: '', ...fields,
  }
}

const none = new Set<string>()

describe('who sends media to whom', () => {
  const list = [
    member('admin', { role: 'admin' }),
    member('pub'),
    member('viewer', { role: 'viewer', publish: false }),
    member('screen', { category: 'screenshare' }),
  ]

  it('a publisher sends to every other member, viewers included, but not to screen shares', () => {
    expect(planLinks(list, { sessionId: 'pub', category: 'stream', sending: true }, none).sendTo).toEqual(['admin', 'viewer'])
  })

  it('a member receives from every other publisher, screen shares included', () => {
    expect(planLinks(list, { sessionId: 'viewer', category: 'stream', sending: false }, none).receiveFrom).toEqual(['admin', 'pub', 'screen'])
  })

  it('two publishers have one connection each way between them', () => {
    const a = planLinks(list, { sessionId: 'admin', category: 'stream', sending: true }, none)
    const b = planLinks(list, { sessionId: 'pub', category: 'stream', sending: true }, none)
    expect([a.sendTo.includes('pub'), a.receiveFrom.includes('pub'), b.sendTo.includes('admin'), b.receiveFrom.includes('admin')]).toEqual([true, true, true, true])
  })

  it('a member that does not send (a viewer, or a publisher whose camera is not open yet) opens no sending link', () => {
    expect(planLinks(list, { sessionId: 'viewer', category: 'stream', sending: false }, none).sendTo).toEqual([])
  })

  it('a screen share sends to every member but receives nothing', () => {
    const plan = planLinks(list, { sessionId: 'screen', category: 'screenshare', sending: true }, none)
    expect(plan).toEqual({ sendTo: ['admin', 'pub', 'viewer'], receiveFrom: [] })
  })

  it('sessions of this page (another RoomClient on the same RTM) are never connected to', () => {
    const own = new Set(['admin', 'screen'])
    expect(planLinks(list, { sessionId: 'screen', category: 'screenshare', sending: true }, own).sendTo).toEqual(['pub', 'viewer'])
    expect(planLinks(list, { sessionId: 'admin', category: 'stream', sending: true }, own).receiveFrom).toEqual(['pub'])
  })
})

describe('going from the links we have to the planned ones', () => {
  it('opens the new and closes the dropped, keeping the rest', () => {
    expect(diffLinks(['a', 'b'], ['b', 'c'])).toEqual({ open: ['c'], close: ['a'] })
  })
})

describe('telling a restart offer from a new connection', () => {
  const offer = (session: string, version: number) => `v=0\r\no=- ${session} ${version} IN IP4 127.0.0.1\r\ns=-\r\n`

  it('reads the session id of the origin line', () => {
    expect(sdpSessionId(offer('4611731400430051336', 2))).toBe('4611731400430051336')
    expect(sdpSessionId('v=0 fake offer 1')).toBeNull()
  })

  it('an ICE restart (same origin session, next version) is the same connection; another session is a new one', () => {
    expect(sameConnection('42', offer('42', 3))).toBe(true)
    expect(sameConnection('42', offer('43', 2))).toBe(false)
  })

  it('an offer without an origin line counts as the same connection', () => {
    expect(sameConnection('42', 'v=0 fake offer')).toBe(true)
    expect(sameConnection(null, offer('43', 2))).toBe(true)
  })
})
