import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FakePeerConnection, installFakeWebRTC } from '../../test/fake-webrtc'
import type { RoomMember, RoomSession } from '../protocol/room-codes'
import { RoomMedia, type PeerSignal, type RoomMediaIo } from './room-media'

/**
 * A room's mesh between two RoomMedia in memory (test/fake-webrtc.ts stands in for the
 * browser): the publisher offers to the member, the member answers, candidates cross, and
 * links follow the plan.
 */

let uninstall: () => void
beforeAll(() => { uninstall = installFakeWebRTC() })
afterAll(() => uninstall())

const session = (sessionId: string): RoomSession => ({ userId: `user-${sessionId}`, sessionId, category: 'stream', host: 'Web', deviceId: '' })
const member = (sessionId: string, publish: boolean): RoomMember => ({ ...session(sessionId), id: sessionId, role: publish ? 'publisher' : 'viewer', video: true, audio: true, publish })
const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

/** Two sessions, `pub` and `sub`, each with its RoomMedia; signals go straight to the other's. */
function mesh() {
  const members = [member('pub', true), member('sub', false)]
  const sent: { from: string; to: string; signal: PeerSignal }[] = []
  const streams: { at: string; sessionId: string; stream: MediaStream | null }[] = []
  const media: Record<string, RoomMedia> = {}
  const io = (self: string): RoomMediaIo => ({
    configuration: () => ({ iceServers: [] }),
    async signal(to, signal) {
      sent.push({ from: self, to: to.sessionId, signal })
      const target = media[to.sessionId]
      const from = session(self)
      if (signal.action === 'offer') target.offer(from, signal.sdp)
      else if (signal.action === 'answer') target.answer(from, signal.sdp)
      else if (signal.action === 'candidate') target.candidate(from, signal.side, signal.candidate)
    },
    member: (sessionId) => members.find((m) => m.sessionId === sessionId),
    remoteStream: ({ sessionId, stream }) => streams.push({ at: self, sessionId, stream }),
    connectionState: () => undefined,
    failed: (error) => { throw error },
    statsIntervalMs: 2_000,
    stats: () => undefined,
  })
  media.pub = new RoomMedia(io('pub'))
  media.sub = new RoomMedia(io('sub'))
  media.pub.local = new MediaStream()
  return { media, sent, streams }
}

const localCandidate = (pc: FakePeerConnection, line: string) =>
  pc.onicecandidate?.({ candidate: { toJSON: () => ({ candidate: line, sdpMid: '0', sdpMLineIndex: 0 }) } } as never)

describe('a room mesh between a publisher and a member', () => {
  it('the publisher offers to the member, the member answers, and both connect', async () => {
    const { media, sent } = mesh()
    const before = FakePeerConnection.all.length
    media.pub.apply({ sendTo: ['sub'], receiveFrom: [] })
    await tick()
    expect(sent.map((s) => `${s.from}→${s.to} ${s.signal.action}`)).toEqual(['pub→sub offer', 'sub→pub answer'])
    const [sending, receiving] = FakePeerConnection.all.slice(before)
    expect([sending.connectionState, receiving.connectionState]).toEqual(['connected', 'connected'])
    expect(receiving.remoteDescription?.sdp).toBe(sending.localDescription?.sdp)
  })

  it('candidates gathered before the offer is out wait for it; the other side adds them once it has a description', async () => {
    const { media, sent } = mesh()
    const before = FakePeerConnection.all.length
    media.pub.apply({ sendTo: ['sub'], receiveFrom: [] })
    const sending = FakePeerConnection.all[before]
    localCandidate(sending, 'candidate:1 1 udp 1 10.99.0.1 5000 typ host')
    expect(sent).toEqual([]) // the offer is still being made: the candidate is held
    await tick()
    expect(sent.map((s) => s.signal.action)).toEqual(['offer', 'candidate', 'answer']) // right after the offer, before the answer
    const receiving = FakePeerConnection.all[before + 1]
    expect(receiving.addedCandidates.map((c) => c.candidate)).toEqual(['candidate:1 1 udp 1 10.99.0.1 5000 typ host'])
    localCandidate(receiving, 'candidate:2 1 udp 1 10.99.0.2 6000 typ host')
    await tick()
    expect(sent.at(-1)).toMatchObject({ from: 'sub', signal: { action: 'candidate', side: 'subscriber' } })
    expect(sending.addedCandidates.map((c) => c.candidate)).toEqual(['candidate:2 1 udp 1 10.99.0.2 6000 typ host'])
  })

  it('an ICE restart re-offers on the same connection, and the member answers on its same link', async () => {
    const { media, sent } = mesh()
    const before = FakePeerConnection.all.length
    media.pub.apply({ sendTo: ['sub'], receiveFrom: [] })
    await tick()
    const sending = FakePeerConnection.all[before]
    sending.setConnectionState('failed') // the offerer restarts at once on `failed`
    await tick()
    expect(sending.restarts).toBe(1)
    expect(sent.map((s) => s.signal.action)).toEqual(['offer', 'answer', 'offer', 'answer'])
    expect(FakePeerConnection.all.length).toBe(before + 2) // no new connection on either side
    expect(sending.signalingState).toBe('stable')
    media.pub.closeAll()
  })

  it('a remote track is the publisher’s stream; the publisher leaving the plan closes the link and takes the stream away', async () => {
    const { media, streams } = mesh()
    const before = FakePeerConnection.all.length
    media.pub.apply({ sendTo: ['sub'], receiveFrom: [] })
    await tick()
    const receiving = FakePeerConnection.all[before + 1]
    const stream = new MediaStream()
    receiving.ontrack?.({ streams: [stream], track: {} })
    expect(media.sub.remoteStreams.get('pub')).toBe(stream)
    media.sub.apply({ sendTo: [], receiveFrom: [] })
    expect(receiving.connectionState).toBe('closed')
    expect(media.sub.remoteStreams.size).toBe(0)
    expect(streams.map((s) => [s.at, s.sessionId, s.stream === null ? null : 'stream'])).toEqual([['sub', 'pub', 'stream'], ['sub', 'pub', null]])
  })

  it('an offer from a new connection of the same publisher (after its reconnect) replaces the old link', async () => {
    const { media } = mesh()
    const before = FakePeerConnection.all.length
    const offer = (id: string) => ({ type: 'offer', sdp: `v=0\r\no=- ${id} 2 IN IP4 127.0.0.1\r\n` })
    media.sub.offer(session('pub'), offer('111'))
    await tick()
    const first = FakePeerConnection.all[before]
    media.sub.offer(session('pub'), { type: 'offer', sdp: 'v=0\r\no=- 111 3 IN IP4 127.0.0.1\r\n' }) // a restart: same link
    await tick()
    expect(FakePeerConnection.all.length).toBe(before + 1)
    media.sub.offer(session('pub'), offer('222'))
    await tick()
    expect(first.connectionState).toBe('closed')
    expect(FakePeerConnection.all.length).toBe(before + 2)
    expect(FakePeerConnection.all[before + 1].remoteDescription?.sdp).toContain('222')
  })

  it('the publisher stops: every link to members closes', async () => {
    const { media } = mesh()
    const before = FakePeerConnection.all.length
    media.pub.apply({ sendTo: ['sub'], receiveFrom: [] })
    await tick()
    media.pub.stopSending()
    expect(FakePeerConnection.all[before].connectionState).toBe('closed')
  })
})
