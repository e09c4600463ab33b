import { describe, expect, it } from 'vitest'
import {
  DEFAULT_PUBLISHER_CAP, DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS, MAX_ROOM_MEMBERS, MAX_SESSIONS_PER_CONNECTION,
  parseRoomFrame,
} from '../protocol/rooms'
import { Coordinator } from './coordinator'
import { DEFAULT_ENGINE_CONFIG } from './app-engine'
import { ICE_URLS, entry, listPush, signal, ss, threeIn, world } from './room-world'

const alice = ss('alice')
const bob = ss('bob')
const carol = ss('carol')

describe('JOIN', () => {
  it('creates the room: the creator is admin and gets the seed’s JOIN ack and the list', () => {
    const w = world()
    const { ack, out } = w.join('a', alice, 'r1', 'm2m', { creating: true })
    const pps = [entry(alice, 'admin')]
    expect(ack).toEqual({ c: 200, s: 'JOIN', b: { pps, rid: 'r1', pt: 'admin', eg: 'native', es: { icfg: { is: ICE_URLS } }, ss: alice } })
    expect(out).toEqual({ a: [listPush('r1', pps, 'join', alice.sessionId)] })
    expect(w.rooms.room('r1')).toEqual({ rid: 'r1', type: 'm2m', engine: 'native', admin: alice.sessionId, members: pps })
  })

  it('a member joining is added in join order and every member gets one list push', () => {
    const w = world()
    w.join('a', alice, 'r1', 'm2m', { creating: true })
    const { ack, sends } = w.join('b', bob, 'r1', 'm2m', { ve: false })
    const pps = [entry(alice, 'admin'), entry(bob, 'publisher', { video: false })]
    expect(ack).toMatchObject({ c: 200, s: 'JOIN', b: { pps, pt: 'publisher', ss: bob } })
    expect(sends).toEqual([{ to: ['a', 'b'], event: { kind: 'room', msg: listPush('r1', pps, 'join', alice.sessionId), timestamp: w.now } }])
  })

  it('answers eg native whatever engine the client asked for, with the host’s ICE urls', () => {
    const w = world()
    const { ack } = w.send('a', 'join', { ...signal('JOIN', alice, 'r1', 'm2m'), eg: 'agora', op: { roomCreating: true } })
    expect(ack.b).toMatchObject({ eg: 'native', es: { icfg: { is: ICE_URLS } } })
  })

  it('takes defaults for what a seed client may leave out (s from the action, category, host, deviceId, ve, ae)', () => {
    const w = world()
    const { ack } = w.send('a', 'join', { ch: 'm2m', rid: 'r1', ss: { userId: 'alice', sessionId: 's1' }, op: { roomCreating: true } })
    const recorded = { userId: 'alice', sessionId: 's1', category: 'stream', host: 'Web', deviceId: '' }
    expect(ack).toMatchObject({ c: 200, b: { ss: recorded, pps: [entry(recorded as typeof alice, 'admin')] } })
  })

  it('4022 when creating a room that exists; nothing changes', () => {
    const w = world()
    w.join('a', alice, 'r1', 'm2m', { creating: true })
    const { ack, out } = w.join('b', bob, 'r1', 'm2m', { creating: true })
    expect(ack).toEqual({ c: 4022, s: 'JOIN', b: { req: expect.objectContaining({ rid: 'r1', ss: bob }), msg: expect.stringContaining('exists') } })
    expect(out).toEqual({})
    expect(w.rooms.room('r1')?.members).toHaveLength(1)
  })

  it('4001 when joining a room that does not exist without roomCreating', () => {
    const w = world()
    expect(w.join('a', alice, 'nowhere', 'm2m').ack).toMatchObject({ c: 4001, s: 'JOIN', b: { msg: expect.stringContaining('roomCreating') } })
    expect(w.rooms.isEmpty).toBe(true)
  })

  it('2002 when ch is not the room’s type', () => {
    const w = world()
    w.join('a', alice, 'r1', 'm2m', { creating: true })
    expect(w.join('b', bob, 'r1', 'a2m').ack).toMatchObject({ c: 2002, s: 'JOIN', b: { msg: 'room "r1" is m2m, not a2m' } })
  })

  it('2002 for a third member of a p2p room', () => {
    const w = threeIn('p2p')
    expect(w.join('c', carol, 'r1', 'p2p').ack).toMatchObject({ c: 2002, b: { msg: 'a p2p room holds two members' } })
    expect(w.rooms.room('r1')?.members).toHaveLength(2)
  })

  it(`2002 for member ${MAX_ROOM_MEMBERS + 1} of a room`, () => {
    const w = world()
    w.join('c0', ss('u0'), 'big', 'a2m', { creating: true })
    for (let i = 1; i < MAX_ROOM_MEMBERS; i++) expect(w.join(`c${i}`, ss(`u${i}`), 'big', 'a2m').ack.c).toBe(200)
    expect(w.join('late', ss('late'), 'big', 'a2m').ack).toMatchObject({ c: 2002, b: { msg: `room "big" is full (${MAX_ROOM_MEMBERS} members)` } })
    expect(w.rooms.room('big')?.members).toHaveLength(MAX_ROOM_MEMBERS)
  })

  it(`2001 for session ${MAX_SESSIONS_PER_CONNECTION + 1} of one connection, across rooms`, () => {
    const w = world()
    for (let i = 0; i < MAX_SESSIONS_PER_CONNECTION; i++) expect(w.join('a', ss('alice', `s${i}`), `r${i % 2}`, 'm2m', { creating: i < 2 }).ack.c).toBe(200)
    expect(w.join('a', ss('alice', 'extra'), 'r9', 'm2m', { creating: true }).ack).toMatchObject({ c: 2001, b: { msg: `a connection holds at most ${MAX_SESSIONS_PER_CONNECTION} room sessions` } })
    expect(w.rooms.room('r9')).toBeUndefined()
    expect(w.rooms.sessionsOf('a')).toHaveLength(MAX_SESSIONS_PER_CONNECTION)
  })

  it('the same session joining again from its connection is acked again and pushes nothing, even with roomCreating', () => {
    const w = threeIn('m2m')
    const first = w.rooms.room('r1')
    const { ack, out } = w.join('b', bob, 'r1', 'm2m')
    expect(ack).toMatchObject({ c: 200, s: 'JOIN', b: { pt: 'publisher', pps: first?.members } })
    expect(out).toEqual({})
    expect(w.join('a', alice, 'r1', 'm2m', { creating: true }).ack).toMatchObject({ c: 200, b: { pt: 'admin' } })
    expect(w.rooms.room('r1')).toEqual(first)
  })

  it('another connection of the same user takes the session over (a reconnect): same place and role, new ve/ae, push join', () => {
    const w = threeIn('m2m')
    w.identify('a2', 'alice')
    const { ack, out } = w.join('a2', { ...alice, host: 'Android' }, 'r1', 'm2m', { ve: false })
    const pps = [entry({ ...alice, host: 'Android' }, 'admin', { video: false }), entry(bob, 'publisher'), entry(carol, 'publisher')]
    expect(ack).toMatchObject({ c: 200, b: { pt: 'admin', pps } })
    expect(out).toEqual({ a2: [listPush('r1', pps, 'join', alice.sessionId)], b: [listPush('r1', pps, 'join', alice.sessionId)], c: [listPush('r1', pps, 'join', alice.sessionId)] })
    expect(w.rooms.sessionsOf('a')).toEqual([])
    expect(w.rooms.sessionsOf('a2')).toEqual([{ rid: 'r1', sessionId: alice.sessionId }])
    // The old connection no longer speaks for the session.
    expect(w.signal('a', 'HEARTBEAT', alice, 'r1', 'm2m').ack).toMatchObject({ c: 2001, b: { msg: expect.stringContaining('another connection') } })
    // Its close does not take the session with it.
    expect(w.drop('a').out).toEqual({})
    expect(w.rooms.room('r1')?.members).toHaveLength(3)
  })

  it('an anonymous connection cannot take a session over: it could be anyone', () => {
    const w = threeIn('m2m')
    expect(w.join('x', alice, 'r1', 'm2m').ack).toMatchObject({ c: 2001, b: { msg: expect.stringContaining('another connection') } })
    expect(w.rooms.sessionsOf('a')).toEqual([{ rid: 'r1', sessionId: alice.sessionId }])
  })

  it('a takeover counts against the new connection’s session limit', () => {
    const w = threeIn('m2m')
    w.identify('full', 'alice')
    for (let i = 0; i < MAX_SESSIONS_PER_CONNECTION; i++) w.join('full', ss('alice', `x${i}`), `other${i}`, 'm2m', { creating: true })
    expect(w.join('full', alice, 'r1', 'm2m').ack.c).toBe(2001)
    expect(w.rooms.sessionsOf('a')).toEqual([{ rid: 'r1', sessionId: alice.sessionId }])
  })

  it('2001 when another user joins with a sessionId already in the room', () => {
    const w = threeIn('m2m')
    const { ack, out } = w.join('d', { ...ss('dave'), sessionId: bob.sessionId }, 'r1', 'm2m')
    expect(ack).toMatchObject({ c: 2001, b: { msg: `session "${bob.sessionId}" belongs to another user` } })
    expect(out).toEqual({})
  })

  it('shows username, fullname and avatar from the user’s metadata where set', () => {
    const w = world()
    w.profiles.set('alice', { username: 'ali', avatar: 'https://img.test/a.png' })
    w.join('a', alice, 'r1', 'm2m', { creating: true })
    const { ack } = w.join('b', bob, 'r1', 'm2m')
    expect(ack.b.pps).toEqual([entry(alice, 'admin', { username: 'ali', avatar: 'https://img.test/a.png' }), entry(bob, 'publisher')])
  })
})

describe('roles by room type', () => {
  it('p2p: the creator is admin, the other a publisher; both publish', () => {
    const w = threeIn('p2p')
    expect(w.rooms.room('r1')?.members).toEqual([entry(alice, 'admin'), entry(bob, 'publisher')])
  })

  it(`m2m: members publish while fewer than the cap (${DEFAULT_PUBLISHER_CAP} by default) do, then view`, () => {
    const w = world()
    w.join('c0', ss('u0'), 'r1', 'm2m', { creating: true })
    for (let i = 1; i <= DEFAULT_PUBLISHER_CAP; i++) w.join(`c${i}`, ss(`u${i}`), 'r1', 'm2m')
    const roles = w.rooms.room('r1')?.members.map((member) => member.role)
    expect(roles).toEqual(['admin', ...Array(DEFAULT_PUBLISHER_CAP - 1).fill('publisher'), 'viewer'])
  })

  it('m2m: the cap comes from the constructor; a publisher leaving frees a place for the next joiner', () => {
    const w = world({ timings: { heartbeatTimeoutMs: DEFAULT_ROOM_HEARTBEAT_TIMEOUT_MS, publisherCap: 2 } })
    w.join('a', alice, 'r1', 'm2m', { creating: true })
    expect(w.join('b', bob, 'r1', 'm2m').ack.b.pt).toBe('publisher')
    expect(w.join('c', carol, 'r1', 'm2m').ack.b.pt).toBe('viewer')
    w.signal('b', 'LEAVE', bob, 'r1', 'm2m')
    expect(w.join('d', ss('dave'), 'r1', 'm2m').ack.b.pt).toBe('publisher')
    expect(w.rooms.room('r1')?.members.map((member) => [member.userId, member.role, member.publish]))
      .toEqual([['alice', 'admin', true], ['carol', 'viewer', false], ['dave', 'publisher', true]])
  })

  it.each(['a2m', 'p2m'] as const)('%s: everyone but the admin views', (type) => {
    const w = threeIn(type)
    expect(w.rooms.room('r1')?.members).toEqual([entry(alice, 'admin'), entry(bob, 'viewer'), entry(carol, 'viewer')])
  })
})

describe('identity', () => {
  it('a connection with a user must send its own userId (2001), on JOIN and after', () => {
    const w = world()
    w.identify('a', 'alice')
    expect(w.join('a', bob, 'r1', 'm2m', { creating: true }).ack).toMatchObject({ c: 2001, b: { msg: 'ss.userId must be your userId "alice"' } })
    expect(w.join('a', alice, 'r1', 'm2m', { creating: true }).ack.c).toBe(200)
    expect(w.signal('a', 'HEARTBEAT', { ...alice, userId: 'bob' }, 'r1', 'm2m').ack.c).toBe(2001)
  })

  it('an anonymous connection may use any userId but a logged-in user’s (2001), unless it fakes one', () => {
    const w = world()
    w.users.add('alice')
    expect(w.join('x', ss('whoever'), 'r1', 'm2m', { creating: true }).ack.c).toBe(200)
    expect(w.join('x', alice, 'r1', 'm2m').ack).toMatchObject({ c: 2001, b: { msg: expect.stringContaining('is a user of this app') } })
    expect(w.join('x', alice, 'r1', 'm2m', { faking: true }).ack.c).toBe(200)
  })

  it('userFaking gives an anonymous session a fresh userId, reported in the ack and the list; signals then carry it', () => {
    const w = world()
    const { ack } = w.join('x', alice, 'r1', 'm2m', { creating: true, faking: true })
    const faked = { ...alice, userId: 'fake-1' }
    expect(ack).toMatchObject({ c: 200, b: { ss: faked, pps: [entry(faked, 'admin')] } })
    expect(w.signal('x', 'HEARTBEAT', faked, 'r1', 'm2m').ack.c).toBe(200)
    expect(w.signal('x', 'HEARTBEAT', alice, 'r1', 'm2m').ack).toMatchObject({ c: 2001, b: { msg: expect.stringContaining('another user') } })
    // Resending the faking JOIN from its connection is still a re-JOIN, not another user.
    expect(w.join('x', alice, 'r1', 'm2m', { faking: true }).ack).toMatchObject({ c: 200, b: { ss: faked } })
  })

  it('userFaking is 2001 for a connection with a user: a user cannot shed their identity', () => {
    const w = world()
    w.identify('a', 'alice')
    expect(w.join('a', alice, 'r1', 'm2m', { creating: true, faking: true }).ack).toMatchObject({ c: 2001, b: { msg: expect.stringContaining('userFaking') } })
    expect(w.rooms.isEmpty).toBe(true)
  })

  it('a signal for a session of the room from another connection is 2001, and changes nothing', () => {
    const w = threeIn('m2m')
    const { ack, out } = w.signal('mallory', 'UPDATE', bob, 'r1', 'm2m', { ve: false })
    expect(ack).toMatchObject({ c: 2001, s: 'UPDATE', b: { msg: `session "${bob.sessionId}" belongs to another connection` } })
    expect(out).toEqual({})
    expect(w.rooms.room('r1')?.members[1].video).toBe(true)
  })

  it('a signal naming a session that is not in the room is 4002', () => {
    const w = threeIn('m2m')
    expect(w.signal('b', 'HEARTBEAT', ss('bob', 'other'), 'r1', 'm2m').ack).toMatchObject({ c: 4002, b: { msg: 'session "other" is not in room "r1"' } })
  })
})

describe('LEAVE', () => {
  it('acks {rid}, removes the session and pushes the list to the others (cause leave)', () => {
    const w = threeIn('m2m')
    const { ack, out } = w.signal('c', 'LEAVE', carol, 'r1', 'm2m')
    expect(ack).toEqual({ c: 200, s: 'LEAVE', b: { rid: 'r1' } })
    const push = listPush('r1', [entry(alice, 'admin'), entry(bob, 'publisher')], 'leave', alice.sessionId)
    expect(out).toEqual({ a: [push], b: [push] })
  })

  it('the admin leaving hands admin to the longest-present member, announced with adminChanged', () => {
    const w = threeIn('a2m')
    const { out } = w.signal('a', 'LEAVE', alice, 'r1', 'a2m')
    const push = listPush('r1', [entry(bob, 'admin'), entry(carol, 'viewer')], 'leave', bob.sessionId, { from: alice.sessionId, to: bob.sessionId })
    expect(out).toEqual({ b: [push], c: [push] })
    // The new admin publishes and acts as admin.
    expect(w.signal('b', 'PUBLISH_ACCEPT', bob, 'r1', 'a2m', { to: 'carol' }).ack.c).toBe(200)
  })

  it('the last member leaving deletes the room', () => {
    const w = world()
    w.join('a', alice, 'r1', 'm2m', { creating: true })
    expect(w.signal('a', 'LEAVE', alice, 'r1', 'm2m').out).toEqual({})
    expect(w.rooms.roomCount).toBe(0)
    expect(w.rooms.isEmpty).toBe(true)
    expect(w.join('a', alice, 'r1', 'm2m').ack.c).toBe(4001)
  })

  it('errors: 4001 no room, 2002 another type, 4002 not a member, 2001 malformed', () => {
    const w = threeIn('m2m')
    expect(w.signal('a', 'LEAVE', alice, 'r2', 'm2m').ack).toMatchObject({ c: 4001, s: 'LEAVE', b: { msg: 'no room "r2"' } })
    expect(w.signal('a', 'LEAVE', alice, 'r1', 'p2p').ack).toMatchObject({ c: 2002, s: 'LEAVE' })
    expect(w.signal('d', 'LEAVE', ss('dave'), 'r1', 'm2m').ack).toMatchObject({ c: 4002, s: 'LEAVE' })
    expect(w.send('a', 'leave', { ss: alice, ch: 'm2m' }).ack).toMatchObject({ c: 2001, s: 'LEAVE', b: { req: { ss: alice, ch: 'm2m' }, msg: expect.stringContaining('rid') } })
    expect(w.rooms.room('r1')?.members).toHaveLength(3)
  })
})

describe('HEARTBEAT and the heartbeat timeout', () => {
  const timings = { heartbeatTimeoutMs: 1000, publisherCap: DEFAULT_PUBLISHER_CAP }

  it('with send_ack: acked with the list and the heartbeat id; nothing pushed', () => {
    const w = threeIn('m2m')
    const { ack, out } = w.signal('b', 'HEARTBEAT', bob, 'r1', 'm2m', { bid: 'hb-7', send_ack: true })
    expect(ack).toEqual({ c: 200, s: 'HEARTBEAT', b: { pps: [entry(alice, 'admin'), entry(bob, 'publisher'), entry(carol, 'publisher')], rid: 'r1', bid: 'hb-7' } })
    expect(out).toEqual({})
  })

  it('without send_ack: the same ack for the native reply (/ws/rooms leaves it unwritten), nothing pushed', () => {
    const w = threeIn('m2m')
    const { ack, out } = w.signal('b', 'HEARTBEAT', bob, 'r1', 'm2m', { bid: 'hb-8' })
    expect(ack).toMatchObject({ c: 200, s: 'HEARTBEAT', b: { rid: 'r1', bid: 'hb-8' } })
    expect(out).toEqual({})
  })

  it('refreshes the user’s profile in the list', () => {
    const w = threeIn('m2m')
    w.profiles.set('bob', { fullname: 'Bob B.' })
    expect(w.signal('b', 'HEARTBEAT', bob, 'r1', 'm2m', { send_ack: true }).ack.b.pps).toContainEqual(entry(bob, 'publisher', { fullname: 'Bob B.' }))
  })

  it('a session silent for heartbeatTimeoutMs is removed on tick (cause timeout); others who signalled stay', () => {
    const w = threeIn('m2m', { timings, step: 0 })
    w.tick(500)
    w.signal('a', 'HEARTBEAT', alice, 'r1', 'm2m')
    w.signal('b', 'UPDATE', bob, 'r1', 'm2m', { ae: false }) // any valid signal counts
    expect(w.tick(499).out).toEqual({})
    const { out } = w.tick(1)
    const push = listPush('r1', [entry(alice, 'admin'), entry(bob, 'publisher', { audio: false })], 'timeout', alice.sessionId)
    expect(out).toEqual({ a: [push], b: [push] })
    expect(w.tick(499).out).toEqual({})
    expect(w.rooms.room('r1')?.members).toHaveLength(2)
  })

  it('the admin timing out hands admin over; everyone timing out deletes the room', () => {
    const w = threeIn('a2m', { timings, step: 0 })
    w.tick(600)
    w.signal('c', 'HEARTBEAT', carol, 'r1', 'a2m')
    const { out } = w.tick(400)
    const push = listPush('r1', [entry(carol, 'admin')], 'timeout', carol.sessionId, { from: alice.sessionId, to: carol.sessionId })
    expect(out).toEqual({ c: [push] })
    expect(w.tick(1000).out).toEqual({})
    expect(w.rooms.isEmpty).toBe(true)
  })

  it('a refused signal of its own session still proves it alive', () => {
    const w = threeIn('a2m', { timings, step: 0 })
    w.tick(900)
    expect(w.signal('b', 'UPDATE', bob, 'r1', 'a2m', { ve: false }).ack.c).toBe(4051)
    w.tick(100)
    expect(w.rooms.room('r1')?.members.map((member) => member.userId)).toEqual(['bob'])
  })

  it('errors: 4001 no room, 2002 another type, 2001 malformed', () => {
    const w = threeIn('m2m')
    expect(w.signal('b', 'HEARTBEAT', bob, 'gone', 'm2m').ack.c).toBe(4001)
    expect(w.signal('b', 'HEARTBEAT', bob, 'r1', 'a2m').ack.c).toBe(2002)
    expect(w.signal('b', 'HEARTBEAT', bob, 'r1', 'm2m', { send_ack: 'yes' }).ack).toMatchObject({ c: 2001, s: 'HEARTBEAT', b: { msg: expect.stringContaining('send_ack') } })
  })
})

describe('the connection closing', () => {
  it('its sessions leave every room at once (cause disconnect), one push per room', () => {
    const w = threeIn('m2m')
    w.join('a', ss('alice', 'alice-screen', { category: 'screenshare' }), 'r1', 'm2m')
    w.join('a', ss('alice', 'alice-2'), 'r2', 'm2m', { creating: true })
    w.join('b', ss('bob', 'bob-2'), 'r2', 'm2m')
    const { out, sends } = w.drop('a')
    expect(out).toEqual({
      b: [
        listPush('r1', [entry(bob, 'admin'), entry(carol, 'publisher')], 'disconnect', bob.sessionId, { from: alice.sessionId, to: bob.sessionId }),
        listPush('r2', [entry(ss('bob', 'bob-2'), 'admin')], 'disconnect', 'bob-2', { from: 'alice-2', to: 'bob-2' }),
      ],
      c: [listPush('r1', [entry(bob, 'admin'), entry(carol, 'publisher')], 'disconnect', bob.sessionId, { from: alice.sessionId, to: bob.sessionId })],
    })
    expect(sends).toHaveLength(2)
    expect(w.rooms.sessionsOf('a')).toEqual([])
  })

  it('a connection without sessions changes nothing', () => {
    const w = threeIn('m2m')
    expect(w.drop('nobody').out).toEqual({})
  })
})

describe('several sessions of one user', () => {
  it('a stream and a screenshare session are two members; a connection with both gets each push once', () => {
    const w = threeIn('m2m')
    const screen = ss('alice', 'alice-screen', { category: 'screenshare' })
    const { ack, sends } = w.join('a', screen, 'r1', 'm2m')
    expect(ack).toMatchObject({ c: 200, b: { pt: 'publisher', ss: screen } })
    expect(sends).toEqual([{ to: ['a', 'b', 'c'], event: expect.objectContaining({ kind: 'room' }) }])
    expect(w.rooms.room('r1')?.members.map((member) => [member.sessionId, member.category])).toEqual([
      ['alice-1', 'stream'], ['bob-1', 'stream'], ['carol-1', 'stream'], ['alice-screen', 'screenshare'],
    ])
  })

  it('a screen share publishes when its user publishes in the room, and watches when its user watches', () => {
    const w = threeIn('a2m')
    expect(w.join('a', ss('alice', 'alice-screen', { category: 'screenshare' }), 'r1', 'a2m').ack.b).toMatchObject({ pt: 'publisher' })
    expect(w.join('b', ss('bob', 'bob-screen', { category: 'screenshare' }), 'r1', 'a2m').ack.b).toMatchObject({ pt: 'viewer' })
  })

  it('a screenshare session on its own connection leaves alone', () => {
    const w = threeIn('m2m')
    const screen = ss('bob', 'bob-screen', { category: 'screenshare' })
    w.join('b-screen', screen, 'r1', 'm2m')
    w.signal('b-screen', 'LEAVE', screen, 'r1', 'm2m')
    expect(w.rooms.room('r1')?.members.map((member) => member.sessionId)).toEqual(['alice-1', 'bob-1', 'carol-1'])
  })
})

describe('malformed frames and internal errors', () => {
  it('2001 with the signal’s name, or UNKNOWN, and the original data', () => {
    const w = world()
    expect(w.raw('a', { action: 'dance', data: { s: 'JOIN' } }).ack).toEqual({ c: 2001, s: 'JOIN', b: { req: { s: 'JOIN' }, msg: expect.stringContaining('unknown action') } })
    expect(w.raw('a', 'hello').ack).toMatchObject({ c: 2001, s: 'UNKNOWN', b: { req: 'hello' } })
    // An action that is not a string is named by its type, never converted (found by the fuzz).
    expect(w.raw('a', { action: { toString: 1 }, data: {} }).ack).toMatchObject({ c: 2001, s: 'UNKNOWN', b: { msg: expect.stringContaining('unknown action (object)') } })
    expect(w.send('a', 'join', { ...signal('LEAVE', alice, 'r1', 'm2m') }).ack).toMatchObject({ c: 2001, s: 'JOIN', b: { msg: expect.stringContaining('not LEAVE') } })
    expect(w.rooms.isEmpty).toBe(true)
  })

  it('500 when the server fails: nothing is sent and nothing changes', () => {
    const w = threeIn('m2m')
    w.setProfileOf(() => { throw new Error('metadata store down') })
    const { ack, out } = w.join('d', ss('dave'), 'r1', 'm2m')
    expect(ack).toEqual({ c: 500, s: 'JOIN', b: { req: expect.objectContaining({ ss: ss('dave') }), msg: expect.stringContaining('leave the room') } })
    expect(out).toEqual({})
    expect(w.rooms.room('r1')?.members).toHaveLength(3)
    expect(w.signal('b', 'HEARTBEAT', bob, 'r1', 'm2m').ack.c).toBe(500)
    w.setProfileOf(undefined)
    expect(w.join('d', ss('dave'), 'r1', 'm2m').ack.c).toBe(200)
  })
})

describe('through the coordinator', () => {
  const login = (coordinator: Coordinator, conn: string, appId: string, userId: string) =>
    coordinator.login(conn, { appId, userId }, { tokenExpiresAt: null, newResumeKey: `k-${conn}` }, 0)
  const frame = (s: 'JOIN' | 'LEAVE' | 'HEARTBEAT', session: ReturnType<typeof ss>, rid: string, more: Record<string, unknown> = {}) =>
    parseRoomFrame({ action: s.toLowerCase(), data: signal(s, session, rid, 'm2m', more) })
  const context = (coordinator: Coordinator, conn: string) => ({ newId: `g-${conn}`, identity: coordinator.userOf(conn), iceUrls: ICE_URLS })

  it('a logged-in user joins: the reply carries the ack, the list shows the user’s metadata profile', () => {
    const coordinator = new Coordinator()
    login(coordinator, 'c1', 'app', 'alice')
    coordinator.handle('c1', 1, { op: 'setUserMetadata', args: { items: [{ key: 'username', value: 'ali' }, { key: 'avatar', value: 'a.png' }, { key: 'age', value: '7' }] } }, 0)
    const handled = coordinator.room('c1', frame('JOIN', alice, 'r1', { op: { roomCreating: true } }), context(coordinator, 'c1'), 5)
    const ack = { c: 200, s: 'JOIN', b: { pps: [entry(alice, 'admin', { username: 'ali', avatar: 'a.png' })], rid: 'r1', pt: 'admin', eg: 'native', es: { icfg: { is: ICE_URLS } }, ss: alice } }
    expect(handled.reply).toEqual({ ok: true, result: ack })
    expect(handled.ack).toEqual(ack)
    expect(handled.sends).toEqual([{ to: ['c1'], event: { kind: 'room', msg: listPush('r1', ack.b.pps, 'join', alice.sessionId), timestamp: 5 } }])
  })

  it('an error ack is the reply’s error, named from the room table', () => {
    const coordinator = new Coordinator()
    login(coordinator, 'c1', 'app', 'alice')
    const handled = coordinator.room('c1', frame('JOIN', alice, 'nowhere'), context(coordinator, 'c1'), 0)
    expect(handled.reply).toEqual({ ok: false, error: { error: true, errorCode: 4001, name: 'ROOM_NOT_FOUND', reason: expect.stringContaining('no room'), operation: 'room' } })
    expect(handled.ack).toMatchObject({ c: 4001, s: 'JOIN' })
  })

  it('a native connection not logged in is 2001 and nothing is registered', () => {
    const coordinator = new Coordinator()
    const handled = coordinator.room('c1', frame('JOIN', alice, 'r1', { op: { roomCreating: true } }), context(coordinator, 'c1'), 0)
    expect(handled.reply).toEqual({ ok: false, error: { error: true, errorCode: 2001, name: 'INVALID_SIGNAL', reason: 'log in before using rooms', operation: 'room' } })
    expect(handled.ack).toMatchObject({ c: 2001, s: 'JOIN', b: { msg: 'log in before using rooms' } })
    expect(handled.sends).toEqual([])
    expect(coordinator.roomsOf('app')).toBeUndefined()
  })

  it('rooms live per app: the same rid in two apps are two rooms', () => {
    const coordinator = new Coordinator()
    const creating = { op: { roomCreating: true } }
    expect(coordinator.room('x', frame('JOIN', alice, 'r1', creating), { newId: 'g1', identity: { appId: 'one', userId: null }, iceUrls: [] }, 0).ack.c).toBe(200)
    expect(coordinator.room('y', frame('JOIN', bob, 'r1', creating), { newId: 'g2', identity: { appId: 'two', userId: null }, iceUrls: [] }, 0).ack.c).toBe(200)
    expect(coordinator.roomsOf('one')?.room('r1')?.members.map((member) => member.userId)).toEqual(['alice'])
    expect(coordinator.roomsOf('two')?.room('r1')?.members.map((member) => member.userId)).toEqual(['bob'])
  })

  it('disconnect and logout take the sessions out; tick times rooms out with the configured timeout and drops empty registries', () => {
    const coordinator = new Coordinator({ ...DEFAULT_ENGINE_CONFIG, roomHeartbeatTimeoutMs: 100, roomPublisherCap: 1 })
    const anonymous = (appId: string) => ({ newId: 'g', identity: { appId, userId: null }, iceUrls: [] })
    coordinator.room('x', frame('JOIN', alice, 'r1', { op: { roomCreating: true } }), anonymous('app'), 0)
    const joined = coordinator.room('y', frame('JOIN', bob, 'r1'), anonymous('app'), 0)
    expect(joined.ack.b.pt).toBe('viewer') // the configured cap: 1
    expect(coordinator.disconnect('y', 10).sends).toEqual([{ to: ['x'], event: { kind: 'room', msg: listPush('r1', [entry(alice, 'admin')], 'disconnect', alice.sessionId), timestamp: 10 } }])
    expect(coordinator.tick(99).sends).toEqual([])
    coordinator.tick(100)
    expect(coordinator.roomsOf('app')).toBeUndefined()

    login(coordinator, 'c1', 'app', 'carol')
    coordinator.room('c1', frame('JOIN', carol, 'r2', { op: { roomCreating: true } }), context(coordinator, 'c1'), 200)
    expect(coordinator.roomsOf('app')?.room('r2')?.members).toEqual([entry(carol, 'admin')])
    coordinator.handle('c1', 2, { op: 'logout', args: {} }, 201)
    expect(coordinator.roomsOf('app')?.room('r2')).toBeUndefined()
  })
})
