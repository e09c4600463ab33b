import { describe, expect, it } from 'vitest'
import type { ServerEvent } from '../protocol/events'
import type { RTM } from './client'
import { addressOf, RoomDispatcher, type AddressedRoomMessage } from './room-dispatcher'

const ss = (sessionId: string) => ({ userId: 'u', sessionId, category: 'stream', host: 'Web', deviceId: '' })
const list = { c: 200, s: 'PUBLISH_LIST_CHANGED', b: { rid: 'r1', pps: [], admin: 'a' } }
const kick = { c: 200, s: 'KICK', b: { rid: 'r1', id: 's2' } }
const offer = { s: 'OFFER', ch: 'm2m', rid: 'r1', ss: ss('a'), to: { userId: 'u', sessionId: 's1' }, sdp: 'v=0' }

describe('whom a room event is for', () => {
  it('a list push is for every session in its room; a KICK for the kicked session; a signal for its `to`', () => {
    expect(addressOf(list)).toMatchObject({ rid: 'r1', sessionId: null })
    expect(addressOf(kick)).toMatchObject({ rid: 'r1', sessionId: 's2' })
    expect(addressOf(offer)).toMatchObject({ rid: 'r1', sessionId: 's1' })
  })

  it('malformed events are nobody’s', () => {
    for (const bad of [null, 'x', [], { c: 200, s: 'PUBLISH_LIST_CHANGED', b: { rid: 'r1' } }, { c: 200, s: 'KICK', b: { rid: 'r1' } },
      { c: 200, s: 'JOIN', b: { rid: 'r1' } }, { ...offer, to: undefined }, { ...offer, ss: { sessionId: 'a' } }, { ...offer, rid: 7 }]) {
      expect(addressOf(bad)).toBeNull()
    }
  })
})

describe('several RoomClients on one RTM', () => {
  const fakeRtm = () => ({ wireHandlers: new Map<string, (event: ServerEvent) => void>() }) as unknown as RTM
  const deliver = (rtm: RTM, msg: unknown) => rtm.wireHandlers.get('room')?.({ kind: 'room', msg, timestamp: 0 } as ServerEvent)

  it('share one dispatcher: a push reaches both, a signal only its session; the last one out uninstalls it', () => {
    const rtm = fakeRtm()
    const got: Record<string, AddressedRoomMessage[]> = { camera: [], screen: [] }
    const first = RoomDispatcher.of(rtm)
    const offCamera = first.add({ receive: (m) => got.camera.push(m), session: () => 's1' })
    const second = RoomDispatcher.of(rtm)
    expect(second).toBe(first)
    const offScreen = second.add({ receive: (m) => got.screen.push(m), session: () => 's2' })
    expect(first.ownSessions()).toEqual(new Set(['s1', 's2']))
    deliver(rtm, list)
    deliver(rtm, offer)
    deliver(rtm, kick)
    expect(got.camera.map((m) => m.msg.s)).toEqual(['PUBLISH_LIST_CHANGED', 'OFFER'])
    expect(got.screen.map((m) => m.msg.s)).toEqual(['PUBLISH_LIST_CHANGED', 'KICK'])
    offCamera()
    expect(rtm.wireHandlers.has('room')).toBe(true)
    offScreen()
    expect(rtm.wireHandlers.has('room')).toBe(false)
  })
})
