import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FakePeerConnection, installFakeWebRTC } from '../../test/fake-webrtc'
import type { RoomMember, RoomSession } from '../protocol/room-codes'
import { SFU_NOTIFY, SFU_SESSION } from '../protocol/sfu'
import type { PeerSignal } from './room-media'
import type { MediaView } from './room-engine'
import { SfuRoomMedia } from './room-sfu-media'

/**
 * A member's side of an SFU room with test/fake-webrtc.ts standing in for the browser: the
 * receive connection answers the JOIN ack's offer, the SFU's slots become one stream per
 * member, a publisher offers its send connection in simulcast.
 */

let uninstall: () => void
const added: { kind: unknown; init: RTCRtpTransceiverInit | undefined }[] = []
const addTransceiver = FakePeerConnection.prototype.addTransceiver
beforeAll(() => {
  uninstall = installFakeWebRTC()
  FakePeerConnection.prototype.addTransceiver = function (this: FakePeerConnection, track: never, init?: RTCRtpTransceiverInit) {
    added.push({ kind: (track as { kind?: string }).kind ?? track, init })
    return addTransceiver.call(this, track)
  }
})
afterAll(() => {
  FakePeerConnection.prototype.addTransceiver = addTransceiver
  uninstall()
})
const made: SfuRoomMedia[] = []
afterEach(() => {
  added.length = 0
  for (const media of made.splice(0)) media.closeAll() // its frame check runs while the receive connection is up
})

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))
const session = (sessionId: string): RoomSession => ({ userId: `user-${sessionId}`, sessionId, category: 'stream', host: 'Web', deviceId: '' })
const member = (sessionId: string, publish: boolean): RoomMember => ({ ...session(sessionId), id: sessionId, role: publish ? 'publisher' : 'viewer', video: true, audio: true, publish })
const members = [member('me', false), member('ann', true), member('bo', true)]
const view = (over: Partial<MediaView> = {}): MediaView => ({ members, self: { sessionId: 'me', category: 'stream', sending: false }, own: new Set(), offer: 'v=0 sfu offer 1', ...over })

/** The receive transceivers a browser makes from the SFU's offer: video mids 0–1, audio mid 2. */
function receiveSlots(pc: FakePeerConnection) {
  const transceivers = [['0', 'video'], ['1', 'video'], ['2', 'audio']].map(([mid, kind]) => ({ mid, receiver: { track: { id: `track-${mid}`, kind } } }))
  pc.getTransceivers = (() => transceivers) as never
}

function setup() {
  const sent: { to: string; signal: PeerSignal }[] = []
  const streams: { sessionId: string; tracks: string[] | null }[] = []
  const layers: { sessionId: string; layer: string }[] = []
  const media = new SfuRoomMedia({
    configuration: () => ({ iceServers: [] }),
    statsIntervalMs: 2_000,
    async signal(to, signal) { sent.push({ to: to.sessionId, signal }) },
    member: (sessionId) => members.find((each) => each.sessionId === sessionId),
    remoteStream: ({ sessionId, stream }) => streams.push({ sessionId, tracks: stream ? stream.getTracks().map((track) => (track as unknown as { id: string }).id) : null }),
    connectionState: () => undefined,
    failed: (error) => { throw error },
    stats: () => undefined,
    layer: (event) => layers.push(event),
    rejoin: () => undefined,
  })
  made.push(media)
  return { media, sent, streams, layers }
}

const sfu = SFU_SESSION

describe('a member of an SFU room', () => {
  it('answers the receive connection the SFU offered in the JOIN ack, to the SFU', async () => {
    const { media, sent } = setup()
    media.sync(view(), false)
    await tick()
    const pc = FakePeerConnection.all.at(-1)!
    expect(pc.remoteDescription).toEqual({ type: 'offer', sdp: 'v=0 sfu offer 1' })
    expect(sent.map(({ to, signal }) => [to, signal.action])).toEqual([['sfu', 'answer']])
  })

  it('sends its receive connection’s candidates as the subscriber end', async () => {
    const { media, sent } = setup()
    media.sync(view(), false)
    await tick()
    FakePeerConnection.all.at(-1)!.onicecandidate?.({ candidate: { toJSON: () => ({ candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 }) } } as never)
    expect(sent.at(-1)).toMatchObject({ to: 'sfu', signal: { action: 'candidate', side: 'subscriber' } })
  })

  it('makes one stream per member from the slots the SFU names: its video slot and its audio slot', async () => {
    const { media, streams } = setup()
    media.sync(view(), false)
    await tick()
    receiveSlots(FakePeerConnection.all.at(-1)!)
    expect(media.notify(sfu, SFU_NOTIFY.slots, { video: { 0: 'ann', 1: 'bo' }, audio: { 2: 'bo' } })).toBe(true)
    expect(streams).toEqual([{ sessionId: 'ann', tracks: ['track-0'] }, { sessionId: 'bo', tracks: ['track-1', 'track-2'] }])
    expect(media.publishers).toEqual(['ann', 'bo'])
  })

  it('ends a member’s stream when the SFU gives its slot to nobody', async () => {
    const { media, streams } = setup()
    media.sync(view(), false)
    await tick()
    receiveSlots(FakePeerConnection.all.at(-1)!)
    media.notify(sfu, SFU_NOTIFY.slots, { video: { 0: 'ann', 1: 'bo' }, audio: {} })
    media.notify(sfu, SFU_NOTIFY.slots, { video: { 0: 'ann', 1: null }, audio: {} })
    expect(streams.at(-1)).toEqual({ sessionId: 'bo', tracks: null })
    expect(media.remoteStreams.has('bo')).toBe(false)
  })

  it('takes NOTIFYs from the SFU only, and tells the layer it forwards of a publisher', () => {
    const { media, layers } = setup()
    expect(media.notify(session('ann'), SFU_NOTIFY.layer, { sessionId: 'bo', layer: 'l' })).toBe(false)
    media.notify(sfu, SFU_NOTIFY.layer, { sessionId: 'bo', layer: 'l' })
    media.notify(sfu, SFU_NOTIFY.layer, { sessionId: 'bo', layer: 'l' })
    expect(layers).toEqual([{ sessionId: 'bo', layer: 'l' }])
    expect(media.layers.get('bo')).toBe('l')
  })

  it('asks the SFU for a layer and for a keyframe', async () => {
    const { media, sent } = setup()
    await media.setLayer('bo', 'auto')
    await media.requestKeyframe('bo')
    expect(sent).toEqual([
      { to: 'sfu', signal: { action: 'notify', type: SFU_NOTIFY.layer, data: { sessionId: 'bo', layer: 'auto' } } },
      { to: 'sfu', signal: { action: 'notify', type: SFU_NOTIFY.keyframe, data: { sessionId: 'bo' } } },
    ])
  })
})

describe('a publisher in an SFU room', () => {
  const publishing = (over: Partial<MediaView> = {}) => view({ self: { sessionId: 'me', category: 'stream', sending: true }, ...over })

  it('offers its send connection to the SFU, its video in simulcast', async () => {
    const { media, sent } = setup()
    media.local = new MediaStream()
    media.sync(publishing(), false)
    await tick()
    expect(sent.filter(({ signal }) => signal.action === 'offer').map(({ to }) => to)).toEqual(['sfu'])
    const video = added.find((each) => each.kind === 'video')
    expect(video?.init?.sendEncodings?.map((encoding) => encoding.rid)).toEqual(['h', 'l'])
    expect(added.find((each) => each.kind === 'audio')?.init?.sendEncodings).toBeUndefined()
  })

  it('takes the SFU’s answer on its send connection', async () => {
    const { media } = setup()
    media.local = new MediaStream()
    media.sync(publishing({ offer: undefined }), false)
    await tick()
    const pc = FakePeerConnection.all.at(-1)!
    media.answer(sfu, 'v=0 sfu answer')
    await tick()
    expect(pc.remoteDescription).toEqual({ type: 'answer', sdp: 'v=0 sfu answer' })
  })

  it('closes its send connection when it no longer publishes', async () => {
    const { media } = setup()
    media.local = new MediaStream()
    media.sync(publishing({ offer: undefined }), false)
    const pc = FakePeerConnection.all.at(-1)!
    media.sync(view({ offer: undefined }), false)
    expect(pc.connectionState).toBe('closed')
    expect(media.sendingTo()).toBeNull()
  })

  it('after a rejoin answers the new receive offer and offers its send connection anew', async () => {
    const { media, sent } = setup()
    media.local = new MediaStream()
    media.sync(publishing(), false)
    await tick()
    const before = [...FakePeerConnection.all]
    media.sync(publishing({ offer: 'v=0 sfu offer 2' }), true)
    await tick()
    expect(before.slice(-2).every((pc) => pc.connectionState === 'closed')).toBe(true)
    expect(sent.map(({ signal }) => signal.action).sort()).toEqual(['answer', 'answer', 'offer', 'offer'])
    expect(FakePeerConnection.all.some((pc) => pc.remoteDescription?.sdp === 'v=0 sfu offer 2')).toBe(true)
  })
})
