import { SignJWT } from 'jose'
import { beforeEach, describe, expect, it } from 'vitest'
import { io as socketIo, type Socket } from 'socket.io-client'
import WebSocket from 'ws'
import { LOGIN_DEADLINE_MS } from '../src/relay/admission'
import { MAX_ROOM_FRAME_BYTES, ROOM_FRAME_RATE } from '../src/relay/rooms-ws'
import type { Relay } from '../src/relay/server'
import { relayForTest, relaysPerTest, until } from './helpers'
import { tokenOf, upgradeStatusAt } from './raw-ws'
import { Inbox, RawRoomClient, roomsUrl, session, sessionIds, type Frame, type Session } from './raw-room-client'

/**
 * /ws/rooms on the real relay, driven by plain WebSocket clients that know only seed 003
 * (003_505a9cf75c9a4014.txt): `{action, data}` frames out, `{c, s, b}` acks and pushes
 * (and signals forwarded from other members) in.
 */

/** The HTTP status a refused upgrade answered with. */
const upgradeStatus = (relay: Relay, query: Record<string, string>) => upgradeStatusAt(roomsUrl(relay, query))

const secret = 'rooms-test-secret'
const tokenFor = (userId: string) => tokenOf(secret, userId)

/** A pps entry of `who` as the seed lists it. */
function member(who: Session, role: string, publish = role !== 'viewer', video = true, audio = true) {
  return { id: who.sessionId, sessionId: who.sessionId, role, video, audio, publish, userId: who.userId, host: who.host, category: who.category, deviceId: who.deviceId }
}

const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }

const { cleanup, start } = relaysPerTest()
let relay: Relay
beforeEach(async () => { relay = await start() })

/** A plain WebSocket client of the test's relay (app 'demo' unless `query` names one). */
async function raw(query: Record<string, string> = {}, on: Relay = relay): Promise<RawRoomClient> {
  const c = await RawRoomClient.open(on, query)
  cleanup.push(() => c.ws.terminate())
  return c
}

/** `client` JOINs `rid` as `ss` and gets a 200 ack: its body. */
async function joined(client: RawRoomClient, rid: string, ch: string, ss: Session, op: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const ack = await client.request('join', { s: 'JOIN', ch, ss, rid, ve: true, ae: true, eg: 'native', op }, 'JOIN')
  expect(ack, JSON.stringify(ack)).toMatchObject({ c: 200, s: 'JOIN' })
  return ack.b!
}

/** A room of `ch` created by a fresh raw client as `admin`, and that client. */
async function roomWith(ch: string, rid: string, admin: Session, query: Record<string, string> = {}) {
  const client = await raw(query)
  const body = await joined(client, rid, ch, admin, { roomCreating: true })
  return { client, body }
}

describe('/ws/rooms between plain WebSocket clients (seed 003)', () => {
  it('creates a room and lets a second member in: both JOIN acks carry the list, the creator is admin, members hear the change', async () => {
    const alice = session('alice')
    const bob = session('bob')
    const { client: a, body } = await roomWith('m2m', 'r1', alice)
    expect(body).toEqual({ pps: [member(alice, 'admin')], rid: 'r1', pt: 'admin', eg: 'native', es: { icfg: { is: [] } }, ss: alice })

    const b = await raw()
    const bobs = await joined(b, 'r1', 'm2m', bob)
    expect(bobs).toMatchObject({ rid: 'r1', pt: 'publisher', eg: 'native', ss: bob })
    expect(bobs.pps).toEqual([member(alice, 'admin'), member(bob, 'publisher')])
    const pushed = await a.inbox.list('join', [alice.sessionId, bob.sessionId])
    expect(pushed).toEqual({ c: 200, s: 'PUBLISH_LIST_CHANGED', b: { pps: [member(alice, 'admin'), member(bob, 'publisher')], rid: 'r1', admin: alice.sessionId, cause: 'join' } })
  })

  it('any engine asked for is answered native, with the relay\'s ICE server URLs (no credentials)', async () => {
    const withIce = await relayForTest({ ice: { servers: [{ urls: ['stun:stun.example.org:3478'] }, { urls: 'turn:turn.example.org', username: 'u', credential: 'secret' }], turn: { secret: 's', urls: ['turns:t2.example.org:5349'], ttlSeconds: 600 } } })
    cleanup.push(() => void withIce.close())
    const a = await raw({}, withIce)
    const ack = await a.request('join', { s: 'JOIN', ch: 'm2m', ss: session('alice'), rid: 'ice', eg: 'agora', op: { roomCreating: true } }, 'JOIN')
    expect(ack.b).toMatchObject({ eg: 'native', es: { icfg: { is: ['stun:stun.example.org:3478', 'turn:turn.example.org', 'turns:t2.example.org:5349'] } } })
    expect(JSON.stringify(ack)).not.toContain('secret')
  })

  it('answers a heartbeat with the list only when send_ack asks', async () => {
    const alice = session('alice')
    const { client: a } = await roomWith('m2m', 'hb', alice)
    a.send('heartbeat', { s: 'HEARTBEAT', ch: 'm2m', ss: alice, rid: 'hb', bid: 'quiet', send_ack: false })
    a.send('heartbeat', { s: 'HEARTBEAT', ch: 'm2m', ss: alice, rid: 'hb', bid: 'loud', send_ack: true })
    expect(await a.inbox.ack('HEARTBEAT')).toEqual({ c: 200, s: 'HEARTBEAT', b: { pps: [member(alice, 'admin')], rid: 'hb', bid: 'loud' } })
    expect(a.inbox.seen.filter((frame) => frame.s === 'HEARTBEAT')).toHaveLength(1)
  })

  it('refuses to create a room that exists (4022) and to join one that does not (4001), echoing the signal', async () => {
    const alice = session('alice')
    await roomWith('m2m', 'taken', alice)
    const b = await raw()
    const create = { s: 'JOIN', ch: 'm2m', ss: session('bob'), rid: 'taken', op: { roomCreating: true } }
    expect(await b.request('join', create, 'JOIN')).toEqual({ c: 4022, s: 'JOIN', b: { req: create, msg: expect.any(String) } })
    const missing = { s: 'JOIN', ch: 'm2m', ss: session('bob'), rid: 'nowhere' }
    expect(await b.request('join', missing, 'JOIN')).toEqual({ c: 4001, s: 'JOIN', b: { req: missing, msg: expect.any(String) } })
    expect(await b.request('join', { s: 'JOIN', ch: 'a2m', ss: session('bob'), rid: 'taken' }, 'JOIN')).toMatchObject({ c: 2002 })
  })

  it('a p2p room holds two: the third JOIN is 2002', async () => {
    const { client: a } = await roomWith('p2p', 'pair', session('alice'))
    const b = await raw()
    expect((await joined(b, 'pair', 'p2p', session('bob'))).pt).toBe('publisher')
    await a.inbox.list('join')
    const c = await raw()
    expect(await c.request('join', { s: 'JOIN', ch: 'p2p', ss: session('carol'), rid: 'pair' }, 'JOIN')).toMatchObject({ c: 2002, s: 'JOIN' })
  })

  it('the admin kicks every session of a user by userId, and one session by object; the kicked hear KICK, the rest a new list', async () => {
    const alice = session('alice')
    const { client: a } = await roomWith('m2m', 'k', alice)
    const bob1 = session('bob', 'bob-1')
    const bob2 = session('bob', 'bob-2')
    const carol = session('carol')
    const b = await raw()
    await joined(b, 'k', 'm2m', bob1)
    await joined(b, 'k', 'm2m', bob2) // one socket, two sessions (a camera and a second device view)
    const c = await raw()
    await joined(c, 'k', 'm2m', carol)
    expect(await c.request('kick', { s: 'KICK', ch: 'm2m', ss: carol, rid: 'k', to: 'bob' }, 'KICK')).toMatchObject({ c: 4051 })

    expect(await a.request('kick', { s: 'KICK', ch: 'm2m', ss: alice, rid: 'k', to: 'bob' }, 'KICK')).toEqual({ c: 200, s: 'KICK', b: { rid: 'k' } })
    const kicked = [await b.inbox.ack('KICK'), await b.inbox.ack('KICK')]
    expect(kicked.map((frame) => frame.b).sort((x, y) => String(x!.id).localeCompare(String(y!.id)))).toEqual([{ rid: 'k', id: 'bob-1' }, { rid: 'k', id: 'bob-2' }])
    await c.inbox.list('kick', [alice.sessionId, carol.sessionId])

    expect(await a.request('kick', { s: 'KICK', ch: 'm2m', ss: alice, rid: 'k', to: { userId: 'carol', sessionId: carol.sessionId } }, 'KICK')).toMatchObject({ c: 200 })
    expect(await c.inbox.ack('KICK')).toEqual({ c: 200, s: 'KICK', b: { rid: 'k', id: carol.sessionId } })
    await a.inbox.list('kick', [alice.sessionId])
    // Gone: a kicked session's signals are refused as from a non-member.
    expect(await c.request('heartbeat', { s: 'HEARTBEAT', ch: 'm2m', ss: carol, rid: 'k', send_ack: true }, 'HEARTBEAT')).toMatchObject({ c: 4002 })
  })

  it('a viewer asks to publish, the admin accepts: the viewer is told, promoted and listed as publisher', async () => {
    const alice = session('alice')
    const viv = session('viv')
    const { client: a } = await roomWith('a2m', 'stage', alice)
    const v = await raw()
    expect((await joined(v, 'stage', 'a2m', viv)).pt).toBe('viewer')
    expect(await v.request('updateVideo', { s: 'UPDATE', ch: 'a2m', ss: viv, rid: 'stage', ve: false, ae: true }, 'UPDATE')).toMatchObject({ c: 4051, s: 'UPDATE' })

    expect(await v.request('publishRequest', { s: 'PUBLISH_REQUEST', ch: 'a2m', ss: viv, rid: 'stage', ve: true, ae: true, msg: 'let me in' }, 'PUBLISH_REQUEST')).toEqual({ c: 200, s: 'PUBLISH_REQUEST', b: { rid: 'stage' } })
    const asked = await a.inbox.forwarded('PUBLISH_REQUEST')
    expect(asked).toMatchObject({ s: 'PUBLISH_REQUEST', ch: 'a2m', rid: 'stage', ss: viv, to: { userId: alice.userId, sessionId: alice.sessionId }, msg: 'let me in' })

    expect(await a.request('publishAccept', { s: 'PUBLISH_ACCEPT', ch: 'a2m', ss: alice, rid: 'stage', to: { userId: 'viv', sessionId: viv.sessionId } }, 'PUBLISH_ACCEPT')).toMatchObject({ c: 200 })
    expect(await v.inbox.forwarded('PUBLISH_ACCEPT')).toMatchObject({ s: 'PUBLISH_ACCEPT', rid: 'stage', ss: alice, to: { sessionId: viv.sessionId } })
    const promoted = await v.inbox.list('promote')
    expect(promoted.b).toMatchObject({ pps: [member(alice, 'admin'), member(viv, 'publisher')], admin: alice.sessionId })
    // Now a publisher: it may change its video state, and asking again is 4023.
    expect(await v.request('updateVideo', { s: 'UPDATE', ch: 'a2m', ss: viv, rid: 'stage', ve: false }, 'UPDATE')).toMatchObject({ c: 200 })
    expect((await a.inbox.list('update')).b?.pps).toEqual([member(alice, 'admin'), member(viv, 'publisher', true, false)])
    expect(await v.request('publishRequest', { s: 'PUBLISH_REQUEST', ch: 'a2m', ss: viv, rid: 'stage' }, 'PUBLISH_REQUEST')).toMatchObject({ c: 4023 })
  })

  it('the admin rejects a request: the viewer is told and stays a viewer; only the admin may decide', async () => {
    const alice = session('alice')
    const viv = session('viv')
    // Two publishers at most (ROOM_PUBLISHER_CAP; default 6): alice (admin) and pat publish, viv joins as a viewer.
    const capped = await relayForTest({ engine: { roomPublisherCap: 2 } })
    cleanup.push(() => void capped.close())
    const a = await raw({}, capped)
    await joined(a, 'rej', 'm2m', alice, { roomCreating: true })
    expect((await joined(await raw({}, capped), 'rej', 'm2m', session('pat'))).pt).toBe('publisher')
    const v = await raw({}, capped)
    expect((await joined(v, 'rej', 'm2m', viv)).pt).toBe('viewer')
    v.send('publishRequest', { s: 'PUBLISH_REQUEST', ch: 'm2m', ss: viv, rid: 'rej' })
    await a.inbox.forwarded('PUBLISH_REQUEST')
    expect(await v.request('publishReject', { s: 'PUBLISH_REJECT', ch: 'm2m', ss: viv, rid: 'rej', to: 'viv' }, 'PUBLISH_REJECT')).toMatchObject({ c: 4051 })
    expect(await a.request('publishReject', { s: 'PUBLISH_REJECT', ch: 'm2m', ss: alice, rid: 'rej', to: 'viv' }, 'PUBLISH_REJECT')).toEqual({ c: 200, s: 'PUBLISH_REJECT', b: { rid: 'rej' } })
    expect(await v.inbox.forwarded('PUBLISH_REJECT')).toMatchObject({ s: 'PUBLISH_REJECT', ss: alice, to: { sessionId: viv.sessionId } })
    const beat = await v.request('heartbeat', { s: 'HEARTBEAT', ch: 'm2m', ss: viv, rid: 'rej', send_ack: true }, 'HEARTBEAT')
    expect((beat.b?.pps as { sessionId: string; role: string }[]).find((entry) => entry.sessionId === viv.sessionId)?.role).toBe('viewer')
  })

  it('peer signals reach only the named session of the same room, carrying the sender as the server knows it', async () => {
    const alice = session('alice')
    const bob = session('bob')
    const carol = session('carol')
    const { client: a } = await roomWith('m2m', 'mesh', alice)
    const b = await raw()
    await joined(b, 'mesh', 'm2m', bob)
    const c = await raw()
    await joined(c, 'mesh', 'm2m', carol)
    const elsewhere = (await roomWith('m2m', 'other', session('dave'))).client

    // The frame claims another device; the forwarded signal carries alice's session as recorded.
    a.send('offer', { s: 'OFFER', ch: 'm2m', ss: { ...alice, deviceId: 'forged' }, rid: 'mesh', to: { sessionId: bob.sessionId }, sdp: offer })
    expect(await b.inbox.forwarded('OFFER')).toEqual({ s: 'OFFER', ch: 'm2m', rid: 'mesh', ss: alice, to: { userId: 'bob', sessionId: bob.sessionId }, sdp: offer })
    b.send('answer', { s: 'ANSWER', ch: 'm2m', ss: bob, rid: 'mesh', to: { sessionId: alice.sessionId }, sdp: { type: 'answer', sdp: 'v=0\r\n' } })
    expect(await a.inbox.forwarded('ANSWER')).toMatchObject({ s: 'ANSWER', ss: bob, to: { sessionId: alice.sessionId } })
    b.send('candidate', { s: 'CANDIDATE', ch: 'm2m', ss: bob, rid: 'mesh', to: { sessionId: alice.sessionId }, side: 'subscriber', candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } })
    expect(await a.inbox.forwarded('CANDIDATE')).toMatchObject({ side: 'subscriber', ss: bob })
    b.send('notify', { s: 'NOTIFY', ch: 'm2m', ss: bob, rid: 'mesh', to: { sessionId: alice.sessionId }, type: 'sk.diagnose', data: { id: 'd1' } })
    expect(await a.inbox.forwarded('NOTIFY')).toEqual({ s: 'NOTIFY', ch: 'm2m', rid: 'mesh', ss: bob, to: { userId: 'alice', sessionId: alice.sessionId }, type: 'sk.diagnose', data: { id: 'd1' } })

    // A session of another room is not a member here: 4002, and nothing reaches it.
    expect(await a.request('offer', { s: 'OFFER', ch: 'm2m', ss: alice, rid: 'mesh', to: { sessionId: 'dave-1' }, sdp: offer }, 'OFFER')).toMatchObject({ c: 4002, s: 'OFFER' })
    // A round trip after: nothing more arrived at carol or the other room.
    await a.request('heartbeat', { s: 'HEARTBEAT', ch: 'm2m', ss: alice, rid: 'mesh', send_ack: true }, 'HEARTBEAT')
    expect(c.inbox.seen.filter((frame) => frame.c === undefined)).toEqual([])
    expect(elsewhere.inbox.seen.filter((frame) => frame.c === undefined)).toEqual([])
    // Success acks of peer signals are not written on /ws/rooms.
    expect(a.inbox.seen.filter((frame) => frame.c === 200 && ['OFFER', 'ANSWER', 'CANDIDATE'].includes(frame.s!))).toEqual([])
  })

  it('a member leaves; when its socket closes its sessions leave at once (cause disconnect); the admin role passes on', async () => {
    const alice = session('alice')
    const bob = session('bob')
    const carol = session('carol')
    const { client: a } = await roomWith('m2m', 'go', alice)
    const b = await raw()
    await joined(b, 'go', 'm2m', bob)
    const c = await raw()
    await joined(c, 'go', 'm2m', carol)
    expect(await c.request('leave', { s: 'LEAVE', ch: 'm2m', ss: carol, rid: 'go' }, 'LEAVE')).toEqual({ c: 200, s: 'LEAVE', b: { rid: 'go' } })
    await b.inbox.list('leave', [alice.sessionId, bob.sessionId])

    a.ws.terminate()
    const pushed = await b.inbox.list('disconnect')
    expect(pushed.b).toMatchObject({ pps: [member(bob, 'admin')], admin: bob.sessionId, adminChanged: { from: alice.sessionId, to: bob.sessionId } })
  })

  it('removes a member silent past the heartbeat timeout (1 s here), while one that heartbeats stays', async () => {
    const quick = await relayForTest({ engine: { roomHeartbeatTimeoutMs: 1000 } })
    cleanup.push(() => void quick.close())
    const alice = session('alice')
    const a = await raw({}, quick)
    await joined(a, 'beat', 'm2m', alice, { roomCreating: true })
    const b = await raw({}, quick)
    await joined(b, 'beat', 'm2m', session('bob'))
    const beating = setInterval(() => a.send('heartbeat', { s: 'HEARTBEAT', ch: 'm2m', ss: alice, rid: 'beat' }), 100)
    cleanup.push(() => clearInterval(beating))
    const pushed = await a.inbox.next((frame) => frame.s === 'PUBLISH_LIST_CHANGED' && frame.b?.cause === 'timeout', 10_000)
    expect(sessionIds(pushed)).toEqual([alice.sessionId])
    expect(b.ws.readyState).toBe(WebSocket.OPEN) // the socket stays; its session is gone
  })
})

describe('who a /ws/rooms socket is', () => {
  it('with a token secret the upgrade needs a valid token (401 otherwise), and every signal must be that user\'s', async () => {
    const secured = await relayForTest({ tokenSecret: secret })
    cleanup.push(() => void secured.close())
    expect(await upgradeStatus(secured, {})).toBe(401)
    expect(await upgradeStatus(secured, { userId: 'alice' })).toBe(401)
    expect(await upgradeStatus(secured, { token: 'not-a-jwt' })).toBe(401)

    const a = await raw({ token: await tokenFor('alice') }, secured)
    const forged = { s: 'JOIN', ch: 'm2m', ss: session('bob'), rid: 'sec', op: { roomCreating: true } }
    expect(await a.request('join', forged, 'JOIN')).toEqual({ c: 2001, s: 'JOIN', b: { req: forged, msg: expect.any(String) } })
    expect(await a.request('join', { ...forged, op: { roomCreating: true, userFaking: true }, ss: session('alice') }, 'JOIN')).toMatchObject({ c: 2001 })
    await joined(a, 'sec', 'm2m', session('alice'), { roomCreating: true })
  })

  it('in open mode an anonymous socket may fake its userId; ?userId= names the user', async () => {
    const anon = await raw()
    const body = await joined(anon, 'fake', 'm2m', session('whoever'), { roomCreating: true, userFaking: true })
    expect((body.ss as Session).userId).not.toBe('whoever')
    expect((body.pps as Session[])[0].userId).toBe((body.ss as Session).userId)
    const dave = await raw({ userId: 'dave' })
    expect(await dave.request('join', { s: 'JOIN', ch: 'm2m', ss: session('erin'), rid: 'fake' }, 'JOIN')).toMatchObject({ c: 2001 })
    await joined(dave, 'fake', 'm2m', session('dave'))
  })

  it('rooms live per app: the same rid in another app is another room', async () => {
    await roomWith('m2m', 'same', session('alice'), { appId: 'one' })
    const b = await raw({ appId: 'two' })
    expect(await b.request('join', { s: 'JOIN', ch: 'm2m', ss: session('bob'), rid: 'same' }, 'JOIN')).toMatchObject({ c: 4001 })
  })
})

describe('the native protocol reaches the same rooms', () => {
  /** An SDK-less socket.io client of the native protocol: requests `f` → replies and events `f`. */
  class NativeClient {
    readonly replies = new Map<number, Record<string, unknown>>()
    readonly events = new Inbox()
    private nextId = 1
    constructor(readonly socket: Socket) {
      socket.on('f', (frame: { t: string; id?: number; event?: { kind: string; msg: Frame } }) => {
        if (frame.t === 'res' && frame.id !== undefined) this.replies.set(frame.id, frame)
        if (frame.t === 'evt' && frame.event?.kind === 'room') this.events.push(frame.event.msg)
      })
    }

    async request(op: string, args: unknown): Promise<Record<string, unknown>> {
      const id = this.nextId++
      this.socket.emit('f', { t: 'req', id, op, args })
      await until(() => this.replies.has(id))
      return this.replies.get(id)!
    }
  }

  async function native(): Promise<NativeClient> {
    const socket = socketIo(relay.url, { transports: ['websocket'], forceNew: true })
    cleanup.push(() => socket.close())
    return new NativeClient(socket)
  }

  it('a logged-in page user (op room) and a raw client meet in one room and signal each other', async () => {
    const nat = await native()
    expect(await nat.request('login', { appId: 'demo', userId: 'nat' })).toMatchObject({ ok: true })
    const natSession = session('nat')
    const join = await nat.request('room', { action: 'join', data: { s: 'JOIN', ch: 'm2m', ss: natSession, rid: 'both', op: { roomCreating: true } } })
    expect(join).toMatchObject({ t: 'res', ok: true, result: { c: 200, s: 'JOIN', b: { pt: 'admin', rid: 'both', ss: natSession } } })

    const alice = session('alice')
    const a = await raw()
    expect((await joined(a, 'both', 'm2m', alice)).pps).toEqual([member(natSession, 'admin'), member(alice, 'publisher')])
    await nat.events.list('join', [natSession.sessionId, alice.sessionId])

    const sent = await nat.request('room', { action: 'offer', data: { s: 'OFFER', ch: 'm2m', ss: natSession, rid: 'both', to: { sessionId: alice.sessionId }, sdp: offer } })
    expect(sent).toMatchObject({ ok: true, result: { c: 200, s: 'OFFER' } }) // the native reply comes anyway
    expect(await a.inbox.forwarded('OFFER')).toMatchObject({ ss: natSession, sdp: offer })
    a.send('answer', { s: 'ANSWER', ch: 'm2m', ss: alice, rid: 'both', to: { sessionId: natSession.sessionId }, sdp: { type: 'answer', sdp: 'v=0\r\n' } })
    expect(await nat.events.forwarded('ANSWER')).toMatchObject({ ss: alice, to: { sessionId: natSession.sessionId } })

    // A refusal is the error reply with the ack's code, named after the code.
    const foreign = await nat.request('room', { action: 'join', data: { s: 'JOIN', ch: 'm2m', ss: session('mallory'), rid: 'both' } })
    expect(foreign).toMatchObject({ ok: false, error: { errorCode: 2001, name: 'INVALID_SIGNAL', operation: 'room' } })
    expect(await nat.request('room', { action: 'dance', data: {} })).toMatchObject({ ok: false, error: { errorCode: 2001, operation: 'room' } })

    // The page user's link drops: its session leaves at once.
    nat.socket.disconnect()
    await a.inbox.list('disconnect', [alice.sessionId])
  })
})

describe('malformed frames and limits on /ws/rooms', () => {
  it('answers every malformed frame 2001 with the signal named (UNKNOWN if none) and the original data in b.req', async () => {
    const c = await raw()
    c.ws.send('not json')
    expect(await c.inbox.next()).toEqual({ c: 2001, s: 'UNKNOWN', b: { req: null, msg: expect.stringContaining('JSON') } })
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true })
    expect(await c.inbox.next()).toEqual({ c: 2001, s: 'UNKNOWN', b: { req: null, msg: expect.stringContaining('binary') } })
    c.send('dance', { s: 'JOIN', rid: 'x' })
    expect(await c.inbox.next()).toEqual({ c: 2001, s: 'JOIN', b: { req: { s: 'JOIN', rid: 'x' }, msg: expect.stringContaining('unknown action') } })
    const noRid = { s: 'JOIN', ch: 'm2m', ss: session('alice'), op: { roomCreating: true } }
    c.send('join', noRid)
    expect(await c.inbox.next()).toEqual({ c: 2001, s: 'JOIN', b: { req: noRid, msg: expect.stringContaining('rid') } })
    const mismatch = { s: 'LEAVE', ch: 'm2m', ss: session('alice'), rid: 'x' }
    c.send('join', mismatch)
    expect(await c.inbox.next()).toEqual({ c: 2001, s: 'JOIN', b: { req: mismatch, msg: expect.any(String) } })
    const longId = { s: 'HEARTBEAT', ch: 'm2m', ss: session('alice', 's'.repeat(129)), rid: 'x' }
    c.send('heartbeat', longId)
    expect(await c.inbox.next()).toEqual({ c: 2001, s: 'HEARTBEAT', b: { req: longId, msg: expect.any(String) } })
    c.ws.send(`{"action":"join","data":${'['.repeat(20_000)}0${']'.repeat(20_000)}}`)
    expect(await c.inbox.next()).toMatchObject({ c: 2001, s: 'UNKNOWN', b: { req: null } })
    c.ws.send(JSON.stringify([1, 2]))
    expect(await c.inbox.next()).toMatchObject({ c: 2001, s: 'UNKNOWN' })
    // The socket still works.
    await joined(c, 'after', 'm2m', session('alice'), { roomCreating: true })
  })

  it(`closes a socket that sends a frame over ${MAX_ROOM_FRAME_BYTES / 1024} KiB (1009); the relay keeps serving`, async () => {
    const big = await raw()
    big.send('join', { s: 'JOIN', ch: 'm2m', ss: session('alice'), rid: 'x'.repeat(MAX_ROOM_FRAME_BYTES) })
    await until(() => big.closed !== null)
    expect(big.closed?.code).toBe(1009)
    await joined(await raw(), 'still', 'm2m', session('bob'), { roomCreating: true })
  })

  it(`answers frames beyond ${ROOM_FRAME_RATE.burst} at once with 2001 naming the signal and echoing it, and handles the rest`, async () => {
    const alice = session('alice')
    const { client: a } = await roomWith('m2m', 'flood', alice)
    // Quiet heartbeats: those handled answer nothing, those over the rate a 2001 each.
    const total = 3 * ROOM_FRAME_RATE.burst
    for (let i = 0; i < total; i++) a.send('heartbeat', { s: 'HEARTBEAT', ch: 'm2m', ss: alice, rid: 'flood', bid: String(i) })
    a.send('heartbeat', { s: 'HEARTBEAT', ch: 'm2m', ss: alice, rid: 'flood', bid: 'last', send_ack: true })
    const limited = await a.inbox.ack('HEARTBEAT', (frame) => frame.c === 2001)
    expect(limited).toEqual({ c: 2001, s: 'HEARTBEAT', b: { req: expect.objectContaining({ bid: expect.any(String) }), msg: expect.stringContaining('rate') } })
    await until(() => a.inbox.seen.some((frame) => (frame.b?.req as { bid?: string } | undefined)?.bid === 'last' || frame.b?.bid === 'last'))
    const refused = a.inbox.seen.filter((frame) => frame.c === 2001).length
    expect(refused).toBeLessThanOrEqual(total + 1 - ROOM_FRAME_RATE.burst + 1) // the JOIN took one token
    // Once the bucket refills, the socket is served again.
    await new Promise((resolve) => setTimeout(resolve, 1000 * 5 / ROOM_FRAME_RATE.perSecond))
    a.send('heartbeat', { s: 'HEARTBEAT', ch: 'm2m', ss: alice, rid: 'flood', bid: 'after', send_ack: true })
    expect(await a.inbox.ack('HEARTBEAT', (frame) => frame.b?.bid === 'after')).toMatchObject({ c: 200 })
  })

  it(`closes a socket that JOINs nothing by the login deadline (${LOGIN_DEADLINE_MS / 1000} s; 300 ms here); a joined one stays`, async () => {
    const quick = await relayForTest({ loginDeadlineMs: 300 })
    cleanup.push(() => void quick.close())
    const idle = await raw({}, quick)
    const busy = await raw({}, quick)
    await joined(busy, 'busy', 'm2m', session('busy'), { roomCreating: true })
    await until(() => idle.closed !== null)
    expect(idle.closed).toEqual({ code: 1008, reason: expect.stringContaining('no JOIN') })
    expect(busy.ws.readyState).toBe(WebSocket.OPEN)
  })

  it('with a token secret a socket is closed when its token expires', async () => {
    const secured = await relayForTest({ tokenSecret: secret })
    cleanup.push(() => void secured.close())
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2).sign(new TextEncoder().encode(secret))
    const a = await raw({ token }, secured)
    await until(() => a.closed !== null, 5000)
    expect(a.closed).toEqual({ code: 1008, reason: 'the token expired' })
  })
})
