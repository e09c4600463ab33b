import { describe, expect, it } from 'vitest'
import { DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS } from '../protocol/rooms'
import { entry, listPush, signal, ss, threeIn, world } from './room-world'

const alice = ss('alice')
const bob = ss('bob')
const carol = ss('carol')
const offer = { type: 'offer', sdp: 'v=0 offer' }
const answer = { type: 'answer', sdp: 'v=0 answer' }

describe('UPDATE', () => {
  it('a publisher sets video and audio; acked {rid}; everyone gets the list (cause update)', () => {
    const w = threeIn('m2m')
    const { ack, out, sends } = w.signal('b', 'UPDATE', bob, 'r1', 'm2m', { ve: false, ae: false })
    expect(ack).toEqual({ c: 200, s: 'UPDATE', b: { rid: 'r1' } })
    const push = listPush('r1', [entry(alice, 'admin'), entry(bob, 'publisher', { video: false, audio: false }), entry(carol, 'publisher')], 'update', alice.sessionId)
    expect(out).toEqual({ a: [push], b: [push], c: [push] })
    expect(sends).toHaveLength(1)
  })

  it('changes only what it carries', () => {
    const w = threeIn('m2m')
    w.signal('b', 'UPDATE', bob, 'r1', 'm2m', { ae: false })
    expect(w.rooms.room('r1')?.members[1]).toEqual(entry(bob, 'publisher', { audio: false }))
  })

  it('the admin of an a2m room may update', () => {
    const w = threeIn('a2m')
    expect(w.signal('a', 'UPDATE', alice, 'r1', 'a2m', { ve: false }).ack.c).toBe(200)
  })

  it('4051 for a viewer; nothing changes', () => {
    const w = threeIn('a2m')
    const { ack, out } = w.signal('b', 'UPDATE', bob, 'r1', 'a2m', { ve: false })
    expect(ack).toMatchObject({ c: 4051, s: 'UPDATE', b: { req: signal('UPDATE', bob, 'r1', 'a2m', { ve: false }), msg: 'only a publisher updates video and audio' } })
    expect(out).toEqual({})
    expect(w.rooms.room('r1')?.members[1].video).toBe(true)
  })

  it('errors: 4001 no room, 2002 another type, 4002 not a member, 2001 malformed', () => {
    const w = threeIn('m2m')
    expect(w.signal('b', 'UPDATE', bob, 'r2', 'm2m').ack.c).toBe(4001)
    expect(w.signal('b', 'UPDATE', bob, 'r1', 'a2m').ack.c).toBe(2002)
    expect(w.signal('d', 'UPDATE', ss('dave'), 'r1', 'm2m').ack.c).toBe(4002)
    expect(w.signal('b', 'UPDATE', bob, 'r1', 'm2m', { ve: 'off' }).ack).toMatchObject({ c: 2001, s: 'UPDATE' })
  })
})

describe('KICK', () => {
  it('by userId: every session of that user gets KICK and is removed; the rest get the list (cause kick)', () => {
    const w = threeIn('m2m')
    const screen = ss('bob', 'bob-screen', { category: 'screenshare' })
    w.join('b2', screen, 'r1', 'm2m')
    const { ack, out } = w.signal('a', 'KICK', alice, 'r1', 'm2m', { to: 'bob' })
    expect(ack).toEqual({ c: 200, s: 'KICK', b: { rid: 'r1' } })
    const push = listPush('r1', [entry(alice, 'admin'), entry(carol, 'publisher')], 'kick', alice.sessionId)
    expect(out).toEqual({
      a: [push],
      b: [{ c: 200, s: 'KICK', b: { rid: 'r1', id: bob.sessionId } }],
      b2: [{ c: 200, s: 'KICK', b: { rid: 'r1', id: 'bob-screen' } }],
      c: [push],
    })
    expect(w.rooms.sessionsOf('b')).toEqual([])
  })

  it('by object: only that session', () => {
    const w = threeIn('m2m')
    const screen = ss('bob', 'bob-screen', { category: 'screenshare' })
    w.join('b', screen, 'r1', 'm2m')
    const { out } = w.signal('a', 'KICK', alice, 'r1', 'm2m', { to: { userId: 'bob', sessionId: 'bob-screen' } })
    const push = listPush('r1', [entry(alice, 'admin'), entry(bob, 'publisher'), entry(carol, 'publisher')], 'kick', alice.sessionId)
    // bob's connection is told its screenshare session was kicked, and, still a member, gets the list.
    expect(out).toEqual({ a: [push], b: [{ c: 200, s: 'KICK', b: { rid: 'r1', id: 'bob-screen' } }, push], c: [push] })
  })

  it('the admin may kick another session of its own user', () => {
    const w = threeIn('m2m')
    w.join('a2', ss('alice', 'alice-screen', { category: 'screenshare' }), 'r1', 'm2m')
    expect(w.signal('a', 'KICK', alice, 'r1', 'm2m', { to: { sessionId: 'alice-screen' } }).ack.c).toBe(200)
  })

  it('2001 for kicking yourself (send LEAVE), by object or by your userId', () => {
    const w = threeIn('m2m')
    expect(w.signal('a', 'KICK', alice, 'r1', 'm2m', { to: { sessionId: alice.sessionId } }).ack).toMatchObject({ c: 2001, b: { msg: expect.stringContaining('LEAVE') } })
    expect(w.signal('a', 'KICK', alice, 'r1', 'm2m', { to: 'alice' }).ack.c).toBe(2001)
    expect(w.rooms.room('r1')?.members).toHaveLength(3)
  })

  it('2002 in a p2p room', () => {
    const w = threeIn('p2p')
    expect(w.signal('a', 'KICK', alice, 'r1', 'p2p', { to: 'bob' }).ack).toMatchObject({ c: 2002, s: 'KICK', b: { msg: 'KICK is not supported in p2p rooms' } })
  })

  it.each(['m2m', 'a2m', 'p2m'] as const)('%s: 4051 for anyone but the admin', (type) => {
    const w = threeIn(type)
    const { ack, out } = w.signal('b', 'KICK', bob, 'r1', type, { to: 'carol' })
    expect(ack).toMatchObject({ c: 4051, s: 'KICK', b: { msg: 'only the admin kicks' } })
    expect(out).toEqual({})
  })

  it('4002 for no such member, or a session of another user than named', () => {
    const w = threeIn('m2m')
    expect(w.signal('a', 'KICK', alice, 'r1', 'm2m', { to: 'dave' }).ack).toMatchObject({ c: 4002, b: { msg: 'user "dave" is not in room "r1"' } })
    expect(w.signal('a', 'KICK', alice, 'r1', 'm2m', { to: { sessionId: 'nope' } }).ack).toMatchObject({ c: 4002, b: { msg: 'session "nope" is not in room "r1"' } })
    expect(w.signal('a', 'KICK', alice, 'r1', 'm2m', { to: { userId: 'carol', sessionId: bob.sessionId } }).ack.c).toBe(4002)
    expect(w.rooms.room('r1')?.members).toHaveLength(3)
  })

  it('errors: 4001 no room, 2001 without a target', () => {
    const w = threeIn('m2m')
    expect(w.signal('a', 'KICK', alice, 'r2', 'm2m', { to: 'bob' }).ack.c).toBe(4001)
    expect(w.signal('a', 'KICK', alice, 'r1', 'm2m').ack).toMatchObject({ c: 2001, s: 'KICK', b: { msg: expect.stringContaining('to') } })
  })
})

describe('PUBLISH_REQUEST', () => {
  it('a viewer’s request is forwarded to the admin session with the sender’s recorded session; acked {rid}', () => {
    const w = threeIn('a2m')
    // What the frame claims beyond the session (host, deviceId) is not what is forwarded.
    const claimed = { ...bob, host: 'Server' as const, deviceId: 'forged' }
    const { ack, out } = w.signal('b', 'PUBLISH_REQUEST', claimed, 'r1', 'a2m', { ve: true, ae: false, msg: 'let me speak' })
    expect(ack).toEqual({ c: 200, s: 'PUBLISH_REQUEST', b: { rid: 'r1' } })
    expect(out).toEqual({ a: [{ s: 'PUBLISH_REQUEST', ch: 'a2m', rid: 'r1', ss: bob, to: { userId: 'alice', sessionId: alice.sessionId }, ve: true, ae: false, msg: 'let me speak' }] })
  })

  it('reaches the new admin after a hand-over', () => {
    const w = threeIn('a2m')
    w.signal('a', 'LEAVE', alice, 'r1', 'a2m')
    expect(w.signal('c', 'PUBLISH_REQUEST', carol, 'r1', 'a2m').out).toEqual({ b: [{ s: 'PUBLISH_REQUEST', ch: 'a2m', rid: 'r1', ss: carol, to: { userId: 'bob', sessionId: bob.sessionId }, ve: true, ae: true }] })
  })

  it('carries a faked userId as recorded', () => {
    // A cap of 1: the admin fills it, the faking joiner views.
    const narrow = world({ timings: { heartbeatTimeoutMs: DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS, publisherCap: 1 } })
    narrow.join('a', alice, 'r1', 'm2m', { creating: true })
    narrow.join('x', bob, 'r1', 'm2m', { faking: true })
    const faked = { ...bob, userId: 'fake-2' }
    expect(narrow.signal('x', 'PUBLISH_REQUEST', faked, 'r1', 'm2m').out.a).toEqual([expect.objectContaining({ ss: faked })])
  })

  it.each(['p2p', 'p2m'] as const)('2002 in a %s room', (type) => {
    const w = threeIn(type)
    expect(w.signal('b', 'PUBLISH_REQUEST', bob, 'r1', type).ack).toMatchObject({ c: 2002, b: { msg: `PUBLISH_REQUEST is not supported in ${type} rooms` } })
  })

  it('4023 from a session that publishes already (publisher or admin)', () => {
    const w = threeIn('m2m')
    expect(w.signal('b', 'PUBLISH_REQUEST', bob, 'r1', 'm2m').ack).toMatchObject({ c: 4023, b: { msg: 'you publish already' } })
    expect(w.signal('a', 'PUBLISH_REQUEST', alice, 'r1', 'm2m').ack.c).toBe(4023)
  })

  it('errors: 4001 no room, 4002 not a member, 2001 malformed', () => {
    const w = threeIn('a2m')
    expect(w.signal('b', 'PUBLISH_REQUEST', bob, 'r2', 'a2m').ack.c).toBe(4001)
    expect(w.signal('d', 'PUBLISH_REQUEST', ss('dave'), 'r1', 'a2m').ack.c).toBe(4002)
    expect(w.signal('b', 'PUBLISH_REQUEST', bob, 'r1', 'a2m', { msg: 7 }).ack).toMatchObject({ c: 2001, s: 'PUBLISH_REQUEST' })
  })
})

describe('PUBLISH_ACCEPT', () => {
  it('promotes the target, forwards the accept to it and pushes the list (cause promote)', () => {
    const w = threeIn('a2m')
    const { ack, out } = w.signal('a', 'PUBLISH_ACCEPT', alice, 'r1', 'a2m', { to: { userId: 'bob', sessionId: bob.sessionId } })
    expect(ack).toEqual({ c: 200, s: 'PUBLISH_ACCEPT', b: { rid: 'r1' } })
    const push = listPush('r1', [entry(alice, 'admin'), entry(bob, 'publisher'), entry(carol, 'viewer')], 'promote', alice.sessionId)
    const forwarded = { s: 'PUBLISH_ACCEPT', ch: 'a2m', rid: 'r1', ss: alice, to: { userId: 'bob', sessionId: bob.sessionId } }
    expect(out).toEqual({ a: [push], b: [forwarded, push], c: [push] })
    // Now a publisher: it may offer, and may not ask again.
    expect(w.signal('b', 'PUBLISH_REQUEST', bob, 'r1', 'a2m').ack.c).toBe(4023)
  })

  it('by userId: every session of that user, each forwarded its own accept', () => {
    const w = threeIn('a2m')
    const screen = ss('bob', 'bob-screen', { category: 'screenshare' })
    w.join('b', screen, 'r1', 'a2m')
    const { out } = w.signal('a', 'PUBLISH_ACCEPT', alice, 'r1', 'a2m', { to: 'bob' })
    expect(out.b.slice(0, 2)).toEqual([
      { s: 'PUBLISH_ACCEPT', ch: 'a2m', rid: 'r1', ss: alice, to: { userId: 'bob', sessionId: bob.sessionId } },
      { s: 'PUBLISH_ACCEPT', ch: 'a2m', rid: 'r1', ss: alice, to: { userId: 'bob', sessionId: 'bob-screen' } },
    ])
    expect(w.rooms.room('r1')?.members.filter((member) => member.userId === 'bob').map((member) => member.role)).toEqual(['publisher', 'publisher'])
  })

  it('the publisher cap does not bind the admin’s choice', () => {
    const w = threeIn('m2m', { timings: { heartbeatTimeoutMs: DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS, publisherCap: 1 } })
    w.signal('a', 'PUBLISH_ACCEPT', alice, 'r1', 'm2m', { to: 'bob' })
    w.signal('a', 'PUBLISH_ACCEPT', alice, 'r1', 'm2m', { to: 'carol' })
    expect(w.rooms.room('r1')?.members.map((member) => member.role)).toEqual(['admin', 'publisher', 'publisher'])
  })

  it('accepting the admin itself leaves it admin', () => {
    const w = threeIn('a2m')
    expect(w.signal('a', 'PUBLISH_ACCEPT', alice, 'r1', 'a2m', { to: { sessionId: alice.sessionId } }).ack.c).toBe(200)
    expect(w.rooms.room('r1')?.admin).toBe(alice.sessionId)
  })

  it.each(['p2p', 'p2m'] as const)('2002 in a %s room', (type) => {
    const w = threeIn(type)
    expect(w.signal('a', 'PUBLISH_ACCEPT', alice, 'r1', type, { to: 'bob' }).ack.c).toBe(2002)
  })

  it('4051 for anyone but the admin; 4002 for a target not in the room', () => {
    const w = threeIn('a2m')
    expect(w.signal('b', 'PUBLISH_ACCEPT', bob, 'r1', 'a2m', { to: 'carol' }).ack).toMatchObject({ c: 4051, b: { msg: 'only the admin sends PUBLISH_ACCEPT' } })
    expect(w.signal('a', 'PUBLISH_ACCEPT', alice, 'r1', 'a2m', { to: 'dave' }).ack.c).toBe(4002)
    expect(w.rooms.room('r1')?.members.map((member) => member.role)).toEqual(['admin', 'viewer', 'viewer'])
  })

  it('errors: 4001 no room, 2001 without a target', () => {
    const w = threeIn('a2m')
    expect(w.signal('a', 'PUBLISH_ACCEPT', alice, 'r2', 'a2m', { to: 'bob' }).ack.c).toBe(4001)
    expect(w.signal('a', 'PUBLISH_ACCEPT', alice, 'r1', 'a2m').ack.c).toBe(2001)
  })
})

describe('PUBLISH_REJECT', () => {
  it('is forwarded to each target session; no role changes, no list push', () => {
    const w = threeIn('a2m')
    const { ack, out } = w.signal('a', 'PUBLISH_REJECT', alice, 'r1', 'a2m', { to: { sessionId: carol.sessionId } })
    expect(ack).toEqual({ c: 200, s: 'PUBLISH_REJECT', b: { rid: 'r1' } })
    expect(out).toEqual({ c: [{ s: 'PUBLISH_REJECT', ch: 'a2m', rid: 'r1', ss: alice, to: { userId: 'carol', sessionId: carol.sessionId } }] })
    expect(w.rooms.room('r1')?.members[2].role).toBe('viewer')
  })

  it.each(['p2p', 'p2m'] as const)('2002 in a %s room', (type) => {
    const w = threeIn(type)
    expect(w.signal('a', 'PUBLISH_REJECT', alice, 'r1', type, { to: 'bob' }).ack.c).toBe(2002)
  })

  it('4051 for anyone but the admin (ours), 4002 for a target not in the room, 4001 no room', () => {
    const w = threeIn('a2m')
    expect(w.signal('c', 'PUBLISH_REJECT', carol, 'r1', 'a2m', { to: 'bob' }).ack).toMatchObject({ c: 4051, s: 'PUBLISH_REJECT' })
    expect(w.signal('a', 'PUBLISH_REJECT', alice, 'r1', 'a2m', { to: { sessionId: 'ghost' } }).ack.c).toBe(4002)
    expect(w.signal('a', 'PUBLISH_REJECT', alice, 'r9', 'a2m', { to: 'bob' }).ack.c).toBe(4001)
  })
})

describe('peer signals (OFFER, ANSWER, CANDIDATE, NOTIFY)', () => {
  it('OFFER from a publisher reaches the target session only, with the sender’s session and the target as to', () => {
    const w = threeIn('a2m')
    const data = signal('OFFER', alice, 'r1', 'a2m', { to: { sessionId: bob.sessionId }, sdp: offer })
    const { ack, out } = w.send('a', 'offer', data)
    expect(ack).toEqual({ c: 200, s: 'OFFER', b: { rid: 'r1' } })
    expect(out).toEqual({ b: [{ s: 'OFFER', ch: 'a2m', rid: 'r1', ss: alice, to: { userId: 'bob', sessionId: bob.sessionId }, sdp: offer }] })
  })

  it('ANSWER and CANDIDATE from any member, candidates with their side', () => {
    const w = threeIn('a2m')
    const to = { userId: 'alice', sessionId: alice.sessionId }
    expect(w.signal('b', 'ANSWER', bob, 'r1', 'a2m', { to, sdp: answer }).out).toEqual({ a: [{ s: 'ANSWER', ch: 'a2m', rid: 'r1', ss: bob, to, sdp: answer }] })
    const candidate = { candidate: 'candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 }
    expect(w.signal('b', 'CANDIDATE', bob, 'r1', 'a2m', { to, side: 'subscriber', candidate }).out).toEqual({ a: [{ s: 'CANDIDATE', ch: 'a2m', rid: 'r1', ss: bob, to, side: 'subscriber', candidate }] })
  })

  it('NOTIFY from any member (a viewer too) carries its opaque data to one session; data past the bound is 2001', () => {
    const w = threeIn('a2m')
    const to = { userId: 'alice', sessionId: alice.sessionId }
    const data = { id: 'd1' }
    expect(w.signal('b', 'NOTIFY', bob, 'r1', 'a2m', { to, type: 'sk.diagnose', data }).out).toEqual({ a: [{ s: 'NOTIFY', ch: 'a2m', rid: 'r1', ss: bob, to, type: 'sk.diagnose', data }] })
    expect(w.signal('b', 'NOTIFY', bob, 'r1', 'a2m', { to, type: 'big', data: 'x'.repeat(17_000) }).ack.c).toBe(2001)
    expect(w.signal('b', 'NOTIFY', bob, 'r1', 'a2m', { to: { sessionId: 'nobody' }, type: 't', data: 1 }).ack.c).toBe(4002)
  })

  it('4051 for an OFFER from a viewer', () => {
    const w = threeIn('a2m')
    const { ack, out } = w.signal('b', 'OFFER', bob, 'r1', 'a2m', { to: { sessionId: alice.sessionId }, sdp: offer })
    expect(ack).toMatchObject({ c: 4051, s: 'OFFER', b: { msg: 'only a publisher offers media' } })
    expect(out).toEqual({})
  })

  it('4002 for a target not in this room (also one in another room), or of another user than named', () => {
    const w = threeIn('m2m')
    w.join('d', ss('dave'), 'r2', 'm2m', { creating: true })
    expect(w.signal('a', 'OFFER', alice, 'r1', 'm2m', { to: { sessionId: 'dave-1' }, sdp: offer }).ack).toMatchObject({ c: 4002, b: { msg: 'session "dave-1" is not in room "r1"' } })
    expect(w.signal('a', 'CANDIDATE', alice, 'r1', 'm2m', { to: { userId: 'carol', sessionId: bob.sessionId }, side: 'publisher', candidate: '' }).ack.c).toBe(4002)
    expect(w.inbox('d')).toHaveLength(1) // only its own JOIN's list
  })

  it('2001 for a signal to your own session', () => {
    const w = threeIn('m2m')
    expect(w.signal('a', 'OFFER', alice, 'r1', 'm2m', { to: { sessionId: alice.sessionId }, sdp: offer }).ack).toMatchObject({ c: 2001, b: { msg: 'OFFER goes to another session' } })
  })

  it('errors: 4001 no room, 2002 another type, 4002 sender not a member, 2001 malformed', () => {
    const w = threeIn('m2m')
    const to = { sessionId: bob.sessionId }
    expect(w.signal('a', 'OFFER', alice, 'r2', 'm2m', { to, sdp: offer }).ack.c).toBe(4001)
    expect(w.signal('a', 'OFFER', alice, 'r1', 'p2m', { to, sdp: offer }).ack.c).toBe(2002)
    expect(w.signal('z', 'ANSWER', ss('zed'), 'r1', 'm2m', { to, sdp: answer }).ack.c).toBe(4002)
    expect(w.signal('a', 'OFFER', alice, 'r1', 'm2m', { to }).ack).toMatchObject({ c: 2001, s: 'OFFER', b: { msg: expect.stringContaining('sdp') } })
    expect(w.signal('a', 'CANDIDATE', alice, 'r1', 'm2m', { to, side: 'sideways', candidate: '' }).ack).toMatchObject({ c: 2001, s: 'CANDIDATE' })
  })

  it('a promoted viewer may offer', () => {
    const w = threeIn('a2m')
    w.signal('a', 'PUBLISH_ACCEPT', alice, 'r1', 'a2m', { to: 'bob' })
    expect(w.signal('b', 'OFFER', bob, 'r1', 'a2m', { to: { sessionId: carol.sessionId }, sdp: offer }).ack.c).toBe(200)
  })

  it('p2p: both publish, so both offer', () => {
    const w = threeIn('p2p')
    expect(w.signal('b', 'OFFER', bob, 'r1', 'p2p', { to: { sessionId: alice.sessionId }, sdp: 'v=0 raw sdp' }).out.a).toEqual([
      { s: 'OFFER', ch: 'p2p', rid: 'r1', ss: bob, to: { userId: 'alice', sessionId: alice.sessionId }, sdp: 'v=0 raw sdp' },
    ])
  })
})
