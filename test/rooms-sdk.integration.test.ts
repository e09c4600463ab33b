import { describe, expect, it } from 'vitest'
import type { Relay } from '../src/relay/server'
import { RoomClient, type JoinOptions, type RoomClientOptions, type RoomEventMap, type RTM } from '../src/sdk'
import { FakePeerConnection, useFakeWebRTC } from './fake-webrtc'
import { client, relaysPerTest, until } from './helpers'
import { dropSocketOf, reconnected } from './relay-control'

/**
 * Seed 003 rooms through the SDK's RoomClient over socket.io to a real relay (native op
 * `room`); test/fake-webrtc.ts stands in for the browser's media, the signaling is all real:
 * who is in, roles, kick, publish requests, mute, the mesh's offers from publishers to
 * members, leaving, rejoining after a reconnect, and two RoomClients on one RTM.
 */

useFakeWebRTC()

const { cleanup, start, stop } = relaysPerTest()

/** Every event a RoomClient emitted, by name. */
type Seen = { [K in keyof RoomEventMap]: RoomEventMap[K][] }

/** A RoomClient on a logged-in RTM (or on `rtm`), recording its events. */
async function member(relay: Relay, userId: string, options: RoomClientOptions = {}, rtm?: RTM) {
  const link = rtm ?? await client(relay, userId)
  const room = new RoomClient(link, options)
  const seen = {} as Seen
  for (const name of ['roomState', 'members', 'role', 'kicked', 'publishRequest', 'publishAccepted', 'publishRejected', 'localStream', 'remoteStream', 'connectionState', 'error', 'message'] as const) {
    seen[name] = []
    room.on(name, (event) => (seen[name] as unknown[]).push(event))
  }
  cleanup.push(() => { room.destroy(); if (!rtm) link.release() })
  return { rtm: link, room, seen }
}
type Member = Awaited<ReturnType<typeof member>>

const sessionsOf = (m: Member) => m.room.members.map((each) => each.sessionId)
/** The media path states this member reported for `sessionId` in `direction`. */
const pathTo = (m: Member, sessionId: string, direction: 'send' | 'receive') =>
  m.seen.connectionState.filter((event) => event.sessionId === sessionId && event.direction === direction).map((event) => event.state)
/** The peer signals (OFFER/ANSWER/CANDIDATE) this member received, as `s from→to`. */
const peerSignalsIn = (m: Member) => m.seen.message
  .filter((event) => event.direction === 'in' && !('c' in event.msg) && ['OFFER', 'ANSWER'].includes(String((event.msg as { s?: unknown }).s)))
  .map((event) => { const msg = event.msg as { s: string; ss: { sessionId: string } }; return `${msg.s} from ${msg.ss.sessionId}` })

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then((value) => { throw new Error(`expected a rejection, got ${JSON.stringify(value)}`) }, (error: unknown) => error)
}

const room = (rid: string, fields: Partial<JoinOptions> = {}): JoinOptions => ({ rid, ch: 'm2m', ...fields })

describe('joining, creating and the member list', () => {
  it('the creator is admin; the next member of an m2m room publishes; both see the same list in join order', async () => {
    const relay = await start()
    const alice = await member(relay, 'alice')
    const bob = await member(relay, 'bob')
    const created = await alice.room.join(room('r1', { roomCreating: true, sessionId: 'alice-cam' }))
    expect(created).toMatchObject({ rid: 'r1', role: 'admin', sessionId: 'alice-cam' })
    expect(created.members.map((m) => [m.sessionId, m.role, m.publish])).toEqual([['alice-cam', 'admin', true]])
    expect(Array.isArray(created.iceUrls)).toBe(true)
    expect(alice.seen.roomState.map((e) => e.state)).toEqual(['joining', 'joined'])
    expect(alice.room).toMatchObject({ roomState: 'joined', role: 'admin', rid: 'r1', sessionId: 'alice-cam', admin: 'alice-cam' })

    const joined = await bob.room.join(room('r1'))
    expect(joined.role).toBe('publisher')
    await until(() => alice.room.members.length === 2)
    expect(sessionsOf(alice)).toEqual(['alice-cam', joined.sessionId])
    expect(sessionsOf(bob)).toEqual(sessionsOf(alice))
    expect(alice.seen.members.at(-1)).toMatchObject({ cause: 'join', admin: 'alice-cam' })
    expect(bob.room.admin).toBe('alice-cam')
  })

  it('a room that does not exist is 4001; creating one that exists is 4022; the client stays unjoined', async () => {
    const relay = await start()
    const alice = await member(relay, 'alice')
    const bob = await member(relay, 'bob')
    expect(await rejection(bob.room.join(room('nowhere')))).toMatchObject({ errorCode: 4001, name: 'ROOM_NOT_FOUND', operation: 'room' })
    expect(bob.room.roomState).toBe('unjoined')
    await alice.room.join(room('r1', { roomCreating: true }))
    expect(await rejection(bob.room.join(room('r1', { roomCreating: true })))).toMatchObject({ errorCode: 4022, name: 'ALREADY_EXIST_ROOM' })
    expect(bob.seen.roomState.map((e) => e.state)).toEqual(['joining', 'unjoined', 'joining', 'unjoined'])
    await bob.room.join(room('r1')) // and it can join after all
  })

  it('in an a2m room the others join as viewers', async () => {
    const relay = await start()
    const alice = await member(relay, 'alice')
    const bob = await member(relay, 'bob')
    await alice.room.join(room('r1', { ch: 'a2m', roomCreating: true }))
    expect((await bob.room.join(room('r1', { ch: 'a2m' }))).role).toBe('viewer')
    expect(bob.room.role).toBe('viewer')
  })
})

describe('the admin: kick, publish requests', () => {
  async function a2m() {
    const relay = await start()
    const alice = await member(relay, 'alice')
    const bob = await member(relay, 'bob')
    await alice.room.join(room('r1', { ch: 'a2m', roomCreating: true, sessionId: 'alice-cam' }))
    const { sessionId } = await bob.room.join(room('r1', { ch: 'a2m', sessionId: 'bob-cam' }))
    await until(() => alice.room.members.length === 2)
    return { relay, alice, bob, bob_sid: sessionId }
  }

  it('the admin kicks a session: it hears KICK and is out; the others see it leave the list', async () => {
    const { alice, bob } = await a2m()
    await alice.room.kick({ sessionId: 'bob-cam', userId: 'bob' })
    await until(() => bob.room.roomState === 'unjoined')
    expect(bob.seen.kicked).toEqual([{ rid: 'r1' }])
    expect(bob.room.members).toEqual([])
    await until(() => alice.room.members.length === 1)
    expect(alice.seen.members.at(-1)?.cause).toBe('kick')
  })

  it('only the admin kicks (4051)', async () => {
    const { bob } = await a2m()
    expect(await rejection(bob.room.kick('alice'))).toMatchObject({ errorCode: 4051, name: 'PERMISSION_NOT_FOUND' })
  })

  it('a viewer asks to publish; the admin accepts: it hears so, becomes publisher, and its camera opens', async () => {
    const { alice, bob } = await a2m()
    await bob.room.requestPublish({ msg: 'may I?' })
    await until(() => alice.seen.publishRequest.length === 1)
    expect(alice.seen.publishRequest[0]).toMatchObject({ from: { sessionId: 'bob-cam', userId: 'bob' }, ve: true, ae: true, msg: 'may I?' })
    await alice.room.accept({ sessionId: 'bob-cam', userId: 'bob' })
    await until(() => bob.seen.publishAccepted.length === 1 && bob.room.role === 'publisher')
    expect(bob.seen.publishAccepted[0].by.sessionId).toBe('alice-cam')
    expect(bob.seen.role.map((e) => e.role)).toEqual(['viewer', 'publisher'])
    await until(() => bob.room.localStream !== null)
    await until(() => alice.seen.members.at(-1)?.cause === 'promote')
    // bob now offers to alice on a connection of its own.
    await until(() => peerSignalsIn(alice).includes('OFFER from bob-cam'))
  })

  it('the admin rejects: the viewer hears so and stays a viewer; a publisher asking again is 4023', async () => {
    const { alice, bob } = await a2m()
    await bob.room.requestPublish()
    await until(() => alice.seen.publishRequest.length === 1)
    await alice.room.reject('bob')
    await until(() => bob.seen.publishRejected.length === 1)
    expect(bob.room.role).toBe('viewer')
    expect(await rejection(alice.room.requestPublish())).toMatchObject({ errorCode: 4023, name: 'ALREADY_IS_PUBLISHER' })
  })
})

describe('mute', () => {
  it('update() turns our tracks off at once and the list says so; a viewer may not (4051)', async () => {
    const relay = await start()
    const alice = await member(relay, 'alice')
    const bob = await member(relay, 'bob')
    await alice.room.join(room('r1', { ch: 'a2m', roomCreating: true, sessionId: 'alice-cam' }))
    await bob.room.join(room('r1', { ch: 'a2m' }))
    await until(() => alice.room.localStream !== null)
    await alice.room.update({ ae: false })
    expect(alice.room.localStream!.getAudioTracks().map((track) => track.enabled)).toEqual([false])
    expect(alice.room.localStream!.getVideoTracks().map((track) => track.enabled)).toEqual([true])
    await until(() => bob.room.members.find((m) => m.sessionId === 'alice-cam')?.audio === false)
    expect(bob.seen.members.at(-1)?.cause).toBe('update')
    expect(await rejection(bob.room.update({ ve: false }))).toMatchObject({ errorCode: 4051 })
  })

  it('joining with ve false starts with the camera track off', async () => {
    const relay = await start()
    const alice = await member(relay, 'alice')
    await alice.room.join(room('r1', { roomCreating: true, ve: false }))
    await until(() => alice.room.localStream !== null)
    expect(alice.room.localStream!.getVideoTracks().map((track) => track.enabled)).toEqual([false])
    expect(alice.room.members[0]).toMatchObject({ video: false, audio: true })
  })
})

describe('the mesh: one sendonly connection per publisher → member', () => {
  it('two publishers and a viewer: each publisher offers to both others, the viewer only answers; all paths connect', async () => {
    const relay = await start()
    const alice = await member(relay, 'alice')
    const bob = await member(relay, 'bob')
    const carol = await member(relay, 'carol')
    await alice.room.join(room('r1', { ch: 'a2m', roomCreating: true, sessionId: 'a' }))
    await bob.room.join(room('r1', { ch: 'a2m', sessionId: 'b' }))
    await carol.room.join(room('r1', { ch: 'a2m', sessionId: 'c' }))
    await alice.room.accept('bob') // bob publishes too
    await until(() => pathTo(alice, 'b', 'send').includes('connected') && pathTo(alice, 'c', 'send').includes('connected'))
    await until(() => pathTo(bob, 'a', 'send').includes('connected') && pathTo(bob, 'c', 'send').includes('connected'))
    await until(() => pathTo(carol, 'a', 'receive').includes('connected') && pathTo(carol, 'b', 'receive').includes('connected'))
    expect(pathTo(alice, 'b', 'receive')).toContain('connected')
    expect(pathTo(carol, 'a', 'send')).toEqual([]) // a viewer sends nothing
    expect(peerSignalsIn(carol).sort()).toEqual(['OFFER from a', 'OFFER from b'])
    expect(peerSignalsIn(alice).sort()).toEqual(['ANSWER from b', 'ANSWER from c', 'OFFER from b'])
    expect(alice.seen.error).toEqual([])
  })

  it('a publisher’s stream arrives as the remote stream of its session; leaving takes it away and closes the connections', async () => {
    const relay = await start()
    const alice = await member(relay, 'alice')
    const bob = await member(relay, 'bob')
    await alice.room.join(room('r1', { ch: 'a2m', roomCreating: true, sessionId: 'a' }))
    await bob.room.join(room('r1', { ch: 'a2m', sessionId: 'b' }))
    await until(() => pathTo(bob, 'a', 'receive').includes('connected'))
    // The fake plays the track arriving on bob's receiving connection (the one answering alice's offer).
    const receiving = FakePeerConnection.all.find((pc) => pc.localDescription?.type === 'answer' && pc.connectionState === 'connected')!
    const stream = new MediaStream()
    receiving.ontrack?.({ streams: [stream], track: {} })
    expect(bob.room.remoteStreams.get('a')).toBe(stream)
    expect(bob.seen.remoteStream.at(-1)).toMatchObject({ sessionId: 'a', userId: 'alice', category: 'stream' })

    await alice.room.leave()
    expect(alice.room.roomState).toBe('unjoined')
    expect(alice.room.localStream).toBeNull()
    await until(() => bob.room.remoteStreams.size === 0)
    expect(bob.seen.remoteStream.at(-1)).toMatchObject({ sessionId: 'a', stream: null })
    expect(receiving.connectionState).toBe('closed')
    // alice was admin: bob is now, and the push said who took over.
    expect(bob.room.admin).toBe('b')
    expect(bob.seen.members.at(-1)).toMatchObject({ cause: 'leave', adminChanged: { from: 'a', to: 'b' } })
  })
})

describe('heartbeats and reconnects', () => {
  it('heartbeats keep a quiet member in the room past the heartbeat timeout', async () => {
    const relay = await start({ engine: { roomHeartbeatTimeoutMs: 600 } })
    const alice = await member(relay, 'alice', { heartbeatIntervalMs: 150 })
    await alice.room.join(room('r1', { roomCreating: true }))
    const joinedAt = Date.now()
    await until(() => Date.now() - joinedAt > 1500)
    expect(alice.room.roomState).toBe('joined')
    expect(alice.seen.message.filter((e) => e.direction === 'out' && (e.msg as { action?: string }).action === 'heartbeat').length).toBeGreaterThan(3)
    expect(alice.seen.error).toEqual([])
  })

  it('a dropped socket: the client JOINs again with the same session, and the others get new offers from it', async () => {
    const relay = await start()
    const alice = await member(relay, 'alice')
    const bob = await member(relay, 'bob')
    await alice.room.join(room('r1', { roomCreating: true, sessionId: 'a' }))
    await bob.room.join(room('r1', { sessionId: 'b' }))
    await until(() => pathTo(alice, 'b', 'receive').includes('connected'))
    const offersBefore = peerSignalsIn(alice).filter((s) => s === 'OFFER from b').length
    const back = reconnected(bob.rtm)
    expect(dropSocketOf(relay, 'bob')).toBe(1)
    await back
    await until(() => bob.room.roomState === 'joined' && bob.seen.roomState.length >= 4)
    expect(bob.seen.roomState.map((e) => e.state)).toEqual(['joining', 'joined', 'joining', 'joined'])
    expect(bob.room.sessionId).toBe('b')
    await until(() => sessionsOf(alice).join() === 'a,b')
    await until(() => peerSignalsIn(alice).filter((s) => s === 'OFFER from b').length > offersBefore)
    expect(bob.seen.error).toEqual([])
  })

  it('a relay restarted without the room: the first member back recreates it (as admin), the next joins it', async () => {
    const first = await start()
    const alice = await member(first, 'alice')
    const bob = await member(first, 'bob')
    await alice.room.join(room('r1', { roomCreating: true, sessionId: 'a' }))
    await bob.room.join(room('r1', { sessionId: 'b' }))
    await stop(first)
    await start({ port: first.port })
    // Both reconnect with backoff (up to 4 s apart), then rejoin: on a busy 2-core box this took over 15 s.
    await until(() => alice.room.roomState === 'joined' && bob.room.roomState === 'joined' && alice.room.members.length === 2 && bob.room.members.length === 2, 40_000)
    expect(sessionsOf(alice).sort()).toEqual(['a', 'b'])
    expect(alice.room.admin).toBe(bob.room.admin)
    expect([alice.seen.error, bob.seen.error]).toEqual([[], []])
  }, 60_000)
})

describe('two RoomClients on one RTM (camera and screen share)', () => {
  it('both are in the room; the screen share sends to the others but not to its own camera session, and receives nothing', async () => {
    const relay = await start()
    const alice = await member(relay, 'alice')
    const screen = await member(relay, 'alice', { stream: new MediaStream() }, alice.rtm)
    const bob = await member(relay, 'bob')
    await alice.room.join(room('r1', { roomCreating: true, sessionId: 'cam' }))
    await bob.room.join(room('r1', { sessionId: 'b' }))
    await screen.room.join(room('r1', { category: 'screenshare', sessionId: 'screen', ae: false }))
    await until(() => pathTo(bob, 'screen', 'receive').includes('connected') && pathTo(screen, 'b', 'send').includes('connected'))
    await until(() => sessionsOf(alice).length === 3 && sessionsOf(screen).length === 3)
    expect(pathTo(screen, 'cam', 'send')).toEqual([]) // never to our own session
    expect(pathTo(alice, 'screen', 'receive')).toEqual([])
    expect(peerSignalsIn(screen).filter((s) => s.startsWith('OFFER'))).toEqual([]) // publishers do not offer to a screen share
    expect(pathTo(bob, 'cam', 'receive')).toContain('connected')
    expect(screen.room.localStream).not.toBeNull()

    // Leaving with the screen share leaves the camera session in the room.
    await screen.room.leave()
    await until(() => sessionsOf(bob).join() === 'cam,b')
    expect(alice.room.roomState).toBe('joined')
  })
})
