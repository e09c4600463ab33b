import { describe, expect, it } from 'vitest'
import { SFU_SESSION } from '../protocol/sfu'
import { entry, listPush, ss, world } from './room-world'

const alice = ss('alice')
const bob = ss('bob')
const answer = { type: 'answer', sdp: 'v=0 answer' }

/** Room r1 (a2m, SFU) created by alice on conn a, bob joined on conn b. */
function sfuRoom() {
  const w = world({ sfu: true })
  const created = w.join('a', alice, 'r1', 'a2m', { creating: true, eg: 'sfu' })
  const joined = w.join('b', bob, 'r1', 'a2m', { eg: 'native' })
  return { w, created, joined }
}

describe('SFU rooms (eg: sfu)', () => {
  it('the creator chooses the engine: each JOIN ack is eg sfu with the SFU offer for that session in es.sdps', () => {
    const { w, created, joined } = sfuRoom()
    expect(created.ack.b).toMatchObject({ eg: 'sfu', es: { sdps: { id: alice.sessionId, sdp: 'sdp-1' } } })
    expect(joined.ack.b).toMatchObject({ eg: 'sfu', pt: 'viewer', es: { sdps: { id: bob.sessionId, sdp: 'sdp-2' } } })
    expect(w.rooms.room('r1')?.engine).toBe('sfu')
  })

  it('without an SFU seat, or when not asked, a room is a mesh (eg native, no sdps)', () => {
    const plain = world()
    expect(plain.join('a', alice, 'r1', 'm2m', { creating: true, eg: 'sfu' }).ack.b).toMatchObject({ eg: 'native', es: { icfg: { is: expect.any(Array) } } })
    expect(plain.last('a')).toBeDefined()
    const withSeat = world({ sfu: true })
    const ack = withSeat.join('a', alice, 'r1', 'm2m', { creating: true }).ack
    expect(ack.b.eg).toBe('native')
    expect((ack.b.es as Record<string, unknown>).sdps).toBeUndefined()
  })

  it('the SFU gets every list push of its room, and an empty one when the room ends', () => {
    const { w } = sfuRoom()
    const pushes = w.inbox('sfu')
    expect(pushes.at(-1)).toEqual(listPush('r1', [entry(alice, 'admin'), entry(bob, 'viewer')], 'join', alice.sessionId))
    w.signal('b', 'LEAVE', bob, 'r1', 'a2m')
    w.signal('a', 'LEAVE', alice, 'r1', 'a2m')
    expect(w.last('sfu')).toMatchObject({ s: 'PUBLISH_LIST_CHANGED', b: { pps: [], rid: 'r1', cause: 'leave' } })
  })

  it('a refusal by the SFU is a 500 whose message starts "Server overload", and changes nothing', () => {
    const { w } = sfuRoom()
    w.refuseSfu('Server overload: busy')
    const carol = ss('carol')
    const { ack, sends } = w.join('c', carol, 'r1', 'a2m')
    expect(ack).toMatchObject({ c: 500, s: 'JOIN', b: { msg: 'Server overload: busy' } })
    expect(sends).toEqual([])
    expect(w.rooms.room('r1')?.members.map((member) => member.sessionId)).toEqual([alice.sessionId, bob.sessionId])
  })

  it('signals to the SFU session go to the SFU with the sender as recorded; non-publishers may not OFFER', () => {
    const { w } = sfuRoom()
    const { ack } = w.signal('b', 'ANSWER', { ...bob, userId: 'bob' }, 'r1', 'a2m', { to: { sessionId: 'sfu' }, sdp: answer })
    expect(ack.c).toBe(200)
    expect(w.last('sfu')).toEqual({ s: 'ANSWER', ch: 'a2m', rid: 'r1', ss: bob, to: SFU_SESSION, sdp: answer })
    expect(w.signal('b', 'OFFER', bob, 'r1', 'a2m', { to: { sessionId: 'sfu' }, sdp: { type: 'offer', sdp: 'v=0' } }).ack.c).toBe(4051)
  })

  it('the SFU speaks to one member as SFU_SESSION; a gone member or room drops it', () => {
    const { w } = sfuRoom()
    w.fromSfu('r1', bob.sessionId, { s: 'NOTIFY', type: 'sfu.slots', data: { video: { 0: alice.sessionId }, audio: {} }, ss: alice })
    expect(w.last('b')).toEqual({ s: 'NOTIFY', ch: 'a2m', rid: 'r1', ss: SFU_SESSION, to: { userId: 'bob', sessionId: bob.sessionId }, type: 'sfu.slots', data: { video: { 0: alice.sessionId }, audio: {} } })
    expect(w.fromSfu('r1', 'nobody', { s: 'NOTIFY', type: 'x', data: null }).sends).toEqual([])
    expect(w.fromSfu('r2', bob.sessionId, { s: 'NOTIFY', type: 'x', data: null }).sends).toEqual([])
  })

  it('every JOIN again gets a new receive offer: from the same connection (its connection failed) and in a takeover', () => {
    const w = world({ sfu: true })
    w.identify('a', 'alice')
    w.identify('a2', 'alice')
    w.join('a', alice, 'r1', 'm2m', { creating: true, eg: 'sfu' })
    const again = w.join('a', alice, 'r1', 'm2m', { creating: true, eg: 'sfu' })
    expect(again.ack.b).toMatchObject({ es: { sdps: { sdp: 'sdp-2' } } })
    expect(again.sends).toEqual([]) // nothing else changes
    expect(w.join('a2', alice, 'r1', 'm2m').ack.b).toMatchObject({ es: { sdps: { sdp: 'sdp-3' } } })
    // A refused offer refuses the JOIN again, and the member keeps its place.
    w.refuseSfu('Server overload: busy')
    expect(w.join('a2', alice, 'r1', 'm2m').ack).toMatchObject({ c: 500 })
    expect(w.rooms.room('r1')?.members.map((member) => member.sessionId)).toEqual([alice.sessionId])
  })

  it('m2m SFU rooms are not bound by the mesh publisher cap', () => {
    const w = world({ sfu: true, timings: { heartbeatTimeoutMs: 30_000, publisherCap: 2 } })
    w.join('a', alice, 'r1', 'm2m', { creating: true, eg: 'sfu' })
    for (const name of ['b', 'c', 'd']) expect(w.join(name, ss(name), 'r1', 'm2m').ack.b.pt).toBe('publisher')
  })
})
