import {
  PictureLossIndication, RTCPeerConnection, RTCRtpCodecParameters, RtcpPayloadSpecificFeedback, RtpHeader, RTP_EXTENSION_URI,
  useAbsSendTime, useAudioLevelIndication, useSdesMid, useSdesRTPStreamId,
  type RTCPeerConnectionConfig, type RTCRtpTransceiver,
} from 'werift'
import { SFU_NOTIFY, SIMULCAST_LAYERS, type SfuSlots } from '../../src/protocol/sfu'
import { isVp8KeyframeStart } from '../../src/relay/sfu/vp8'

/**
 * Browser-free members of an SFU room, on werift, for tests and the bench. Transport-agnostic:
 * each takes seed-003 signals through `receive(signal)` and gives its own to the `send`
 * callback (wire it to the worker's IPC, or to the relay's /ws/rooms). Candidates travel
 * inside the SDP (gathering completes before an offer or answer goes out); CANDIDATE signals
 * that come in are applied.
 */

export type MemberSignal = Record<string, unknown> & { s: 'OFFER' | 'ANSWER' | 'CANDIDATE' | 'NOTIFY' }

export interface SyntheticOptions {
  send(signal: MemberSignal): void
  /** Local address for ICE (default 127.0.0.1: tests stay on loopback). */
  address?: string
}

function peerConfig(address: string): RTCPeerConnectionConfig {
  const feedback = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }]
  return {
    iceServers: [],
    bundlePolicy: 'max-bundle',
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [address],
    iceInterfaceAddresses: { udp4: address },
    codecs: {
      video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, rtcpFeedback: feedback })],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })],
    },
    headerExtensions: {
      video: [useSdesMid(), useSdesRTPStreamId(), useAbsSendTime()],
      audio: [useSdesMid(), useAudioLevelIndication()],
    },
  }
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve()
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') {
        unSubscribe()
        resolve()
      }
    })
  })
}

const sdpOf = (value: unknown): string => (typeof value === 'string' ? value : (value as { sdp: string }).sdp)

async function addCandidate(pc: RTCPeerConnection, signal: MemberSignal): Promise<void> {
  const candidate = signal.candidate as { candidate: string; sdpMid?: string; sdpMLineIndex?: number }
  await pc.addIceCandidate(candidate)
}

// ---------------------------------------------------------------------------------------------
// Publisher

export interface SyntheticPublisherOptions extends SyntheticOptions {
  video?: boolean
  audio?: boolean
  /** Send SIMULCAST_LAYERS as rid streams (else one plain video stream). */
  simulcast?: boolean
  /** Frames per second (default 30). */
  fps?: number
  /** RTP packets per frame on the top layer (default 4; the low layer sends half, at least 1). */
  packetsPerFrame?: number
  /** A keyframe at least this often, ms (default 3000); PLIs ask for more. */
  keyframeIntervalMs?: number
  /** ssrc-audio-level of the audio packets: 0 loudest … 127 silent (default 30, speaking). */
  audioLevel?: number
}

interface OutStream { ssrc: number; rid: string | null; seq: number; timestamp: number; pictureId: number; keyframeDue: boolean; packets: number }

/** A publisher: offers a send connection, then sends VP8-like video (~30 fps) and opus-like audio (every 20 ms). */
export class SyntheticPublisher {
  readonly pc: RTCPeerConnection
  /** PLIs received, per stream rid ('' for a plain stream). */
  readonly pliCount = new Map<string, number>()
  keyframesSent = 0
  packetsSent = 0
  audioLevel: number
  readonly #options: Required<Omit<SyntheticPublisherOptions, 'send' | 'address'>> & SyntheticOptions
  readonly #video: OutStream[] = []
  #audio: OutStream | null = null
  #timers: NodeJS.Timeout[] = []
  #closed = false

  private constructor(options: SyntheticPublisherOptions) {
    this.#options = { video: true, audio: true, simulcast: false, fps: 30, packetsPerFrame: 4, keyframeIntervalMs: 3000, audioLevel: 30, ...options }
    this.audioLevel = this.#options.audioLevel
    this.pc = new RTCPeerConnection(peerConfig(options.address ?? '127.0.0.1'))
  }

  /** Creates the send connection and sends its OFFER. */
  static async start(options: SyntheticPublisherOptions): Promise<SyntheticPublisher> {
    const publisher = new SyntheticPublisher(options)
    await publisher.#offer()
    return publisher
  }

  async #offer(): Promise<void> {
    const { video, audio, simulcast } = this.#options
    if (video) this.pc.addTransceiver('video', { direction: 'sendonly' })
    if (audio) this.pc.addTransceiver('audio', { direction: 'sendonly' })
    await this.pc.setLocalDescription(await this.pc.createOffer())
    await gathered(this.pc)
    let sdp = this.pc.localDescription!.sdp
    if (video && simulcast) sdp = withSimulcast(sdp)
    this.#options.send({ s: 'OFFER', sdp: { type: 'offer', sdp } })
  }

  async receive(signal: MemberSignal): Promise<void> {
    if (signal.s === 'ANSWER') {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: sdpOf(signal.sdp) })
      this.#startMedia()
    } else if (signal.s === 'CANDIDATE') {
      await addCandidate(this.pc, signal)
    }
  }

  #startMedia(): void {
    const random32 = () => (Math.random() * 0xffff_ffff) >>> 0
    // A plain stream uses the SSRC its SDP announced (the SFU routes by it); rid streams name none.
    const stream = (rid: string | null, ssrc = random32()): OutStream => ({ ssrc, rid, seq: random32() & 0xffff, timestamp: random32(), pictureId: 0, keyframeDue: true, packets: 0 })
    const videoTransceiver = this.pc.getTransceivers().find((t) => t.kind === 'video')
    const audioTransceiver = this.pc.getTransceivers().find((t) => t.kind === 'audio')
    if (videoTransceiver) {
      const rids = this.#options.simulcast ? SIMULCAST_LAYERS.map((l) => l.rid) : [null]
      for (const rid of rids) this.#video.push(rid === null ? stream(null, videoTransceiver.sender.ssrc) : stream(rid))
      const dtls = videoTransceiver.dtlsTransport
      dtls.onRtcp.subscribe((packet) => {
        if (!(packet instanceof RtcpPayloadSpecificFeedback) || !(packet.feedback instanceof PictureLossIndication)) return
        const target = this.#video.find((s) => s.ssrc === (packet.feedback as PictureLossIndication).mediaSsrc)
        if (!target) return
        target.keyframeDue = true
        const key = target.rid ?? ''
        this.pliCount.set(key, (this.pliCount.get(key) ?? 0) + 1)
      })
      this.#timers.push(setInterval(() => this.#sendFrame(videoTransceiver), 1000 / this.#options.fps))
      this.#timers.push(setInterval(() => { for (const s of this.#video) s.keyframeDue = true }, this.#options.keyframeIntervalMs))
    }
    if (audioTransceiver) {
      this.#audio = stream(null, audioTransceiver.sender.ssrc)
      this.#timers.push(setInterval(() => this.#sendAudio(audioTransceiver), 20))
    }
  }

  #extensionId(transceiver: RTCRtpTransceiver, uri: string): number | undefined {
    return transceiver.headerExtensions.find((e) => e.uri === uri)?.id
  }

  #sendFrame(transceiver: RTCRtpTransceiver): void {
    if (this.#closed || transceiver.dtlsTransport.state !== 'connected') return
    const payloadType = transceiver.codecs[0]?.payloadType ?? 96
    const midId = this.#extensionId(transceiver, RTP_EXTENSION_URI.sdesMid)
    const ridId = this.#extensionId(transceiver, RTP_EXTENSION_URI.sdesRTPStreamID)
    this.#video.forEach((s, index) => {
      const keyframe = s.keyframeDue
      s.keyframeDue = false
      if (keyframe) this.keyframesSent++
      const count = Math.max(1, Math.round(this.#options.packetsPerFrame / 2 ** index))
      s.pictureId = (s.pictureId + 1) & 0x7fff
      s.timestamp = (s.timestamp + 90_000 / this.#options.fps) >>> 0
      for (let i = 0; i < count; i++) {
        const extensions = []
        if (midId !== undefined && transceiver.mid) extensions.push({ id: midId, payload: Buffer.from(transceiver.mid) })
        if (ridId !== undefined && s.rid) extensions.push({ id: ridId, payload: Buffer.from(s.rid) })
        const header = new RtpHeader({ payloadType, ssrc: s.ssrc, sequenceNumber: s.seq, timestamp: s.timestamp, marker: i === count - 1, extensions })
        s.seq = (s.seq + 1) & 0xffff
        s.packets++
        this.packetsSent++
        void transceiver.dtlsTransport.sendRtp(vp8Payload(i === 0, keyframe, s.pictureId), header)
      }
    })
  }

  #sendAudio(transceiver: RTCRtpTransceiver): void {
    const s = this.#audio
    if (this.#closed || !s || transceiver.dtlsTransport.state !== 'connected') return
    const payloadType = transceiver.codecs[0]?.payloadType ?? 111
    const midId = this.#extensionId(transceiver, RTP_EXTENSION_URI.sdesMid)
    const levelId = this.#extensionId(transceiver, RTP_EXTENSION_URI.audioLevelIndication)
    const extensions = []
    if (midId !== undefined && transceiver.mid) extensions.push({ id: midId, payload: Buffer.from(transceiver.mid) })
    if (levelId !== undefined) extensions.push({ id: levelId, payload: Buffer.from([0x80 | (this.audioLevel & 0x7f)]) })
    s.timestamp = (s.timestamp + 960) >>> 0
    const header = new RtpHeader({ payloadType, ssrc: s.ssrc, sequenceNumber: s.seq, timestamp: s.timestamp, marker: false, extensions })
    s.seq = (s.seq + 1) & 0xffff
    s.packets++
    this.packetsSent++
    void transceiver.dtlsTransport.sendRtp(OPUS_LIKE, header)
  }

  close(): void {
    this.#closed = true
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    void this.pc.close()
  }
}

/** An opus frame's worth of bytes (its content does not matter to a forwarding unit). */
const OPUS_LIKE = Buffer.alloc(60, 0xf8)
/** Bytes of VP8 data per packet. */
const VP8_CHUNK = 900

/** RFC 7741 payload: descriptor with a 15-bit PictureID, then (first packet) a VP8 header with P=0 on keyframes. */
export function vp8Payload(first: boolean, keyframe: boolean, pictureId: number): Buffer {
  const payload = Buffer.alloc(4 + VP8_CHUNK, 0x55)
  payload[0] = 0x80 | (first ? 0x10 : 0) // X, S, partition 0
  payload[1] = 0x80 // I
  payload[2] = 0x80 | ((pictureId >> 8) & 0x7f)
  payload[3] = pictureId & 0xff
  if (first) {
    payload[4] = keyframe ? 0x10 : 0x11 // show_frame, P bit
    if (keyframe) payload.set([0x9d, 0x01, 0x2a], 7) // keyframe start code
  }
  return payload
}

/** Turns werift's plain video section into a Chrome-like simulcast offer: rid lines, no SSRC lines. */
function withSimulcast(sdp: string): string {
  const out: string[] = []
  let inVideo = false
  for (const line of sdp.split('\r\n')) {
    if (line.startsWith('m=')) inVideo = line.startsWith('m=video')
    if (inVideo && line.startsWith('a=ssrc')) continue
    out.push(line)
    if (inVideo && line.startsWith('a=mid:')) {
      for (const { rid } of SIMULCAST_LAYERS) out.push(`a=rid:${rid} send`)
      out.push(`a=simulcast:send ${SIMULCAST_LAYERS.map((l) => l.rid).join(';')}`)
    }
  }
  return out.join('\r\n')
}

// ---------------------------------------------------------------------------------------------
// Viewer

export interface SlotCount {
  kind: 'video' | 'audio'
  packets: number
  keyframes: number
  /** performance.now() of the first keyframe start on this slot. */
  firstKeyframeAt: number | null
  lastSeq: number | null
  /** Sequence numbers that went backwards or jumped by more than 1000 (a rewriting bug). */
  discontinuities: number
}

/** A viewer: answers the SFU's receive offer and counts what arrives per slot (mid). */
export class SyntheticViewer {
  readonly pc: RTCPeerConnection
  readonly slots = new Map<string, SlotCount>()
  /** Latest `sfu.slots`, and every one received. */
  mapping: SfuSlots | null = null
  readonly mappings: SfuSlots[] = []
  /** Latest `sfu.layer` per publisher. */
  readonly layers = new Map<string, string>()
  answeredAt: number | null = null
  readonly #send: (signal: MemberSignal) => void
  #samples: { at: number; packets: number }[] = []
  #sampler: NodeJS.Timeout

  constructor(options: SyntheticOptions) {
    this.#send = options.send
    this.pc = new RTCPeerConnection(peerConfig(options.address ?? '127.0.0.1'))
    this.pc.ontrack = ({ track, transceiver }) => {
      const mid = transceiver.mid ?? '?'
      const count: SlotCount = { kind: track.kind as 'video' | 'audio', packets: 0, keyframes: 0, firstKeyframeAt: null, lastSeq: null, discontinuities: 0 }
      this.slots.set(mid, count)
      track.onReceiveRtp.subscribe((packet) => {
        count.packets++
        const seq = packet.header.sequenceNumber
        if (count.lastSeq !== null) {
          const diff = (seq - count.lastSeq + 0x10000) % 0x10000
          if (diff === 0 || diff > 1000) count.discontinuities++
        }
        count.lastSeq = seq
        if (track.kind === 'video' && isVp8KeyframeStart(packet.payload)) {
          count.keyframes++
          count.firstKeyframeAt ??= performance.now()
        }
      })
    }
    this.#sampler = setInterval(() => {
      this.#samples.push({ at: performance.now(), packets: this.totalPackets('video') + this.totalPackets('audio') })
      if (this.#samples.length > 20) this.#samples.shift()
    }, 250)
  }

  /** The receive offer (the JOIN ack's `b.es.sdps.sdp`, or an OFFER signal): answer it. */
  async answer(offerSdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp })
    await this.pc.setLocalDescription(await this.pc.createAnswer())
    await gathered(this.pc)
    this.answeredAt = performance.now()
    this.#send({ s: 'ANSWER', sdp: { type: 'answer', sdp: this.pc.localDescription!.sdp } })
  }

  async receive(signal: MemberSignal): Promise<void> {
    if (signal.s === 'OFFER') return this.answer(sdpOf(signal.sdp))
    if (signal.s === 'CANDIDATE') return addCandidate(this.pc, signal)
    if (signal.s !== 'NOTIFY') return
    const data = signal.data as Record<string, unknown>
    if (signal.type === SFU_NOTIFY.slots) {
      this.mapping = data as unknown as SfuSlots
      this.mappings.push(this.mapping)
    } else if (signal.type === SFU_NOTIFY.layer) {
      this.layers.set(String(data.sessionId), String(data.layer))
    }
  }

  /** Asks the SFU for a keyframe of `publisher` (sfu.keyframe). */
  askKeyframe(publisher: string): void {
    this.#send({ s: 'NOTIFY', type: SFU_NOTIFY.keyframe, data: { sessionId: publisher } })
  }

  /** Caps `publisher` to `layer` ('auto' to let bandwidth decide). */
  preferLayer(publisher: string, layer: string): void {
    this.#send({ s: 'NOTIFY', type: SFU_NOTIFY.layer, data: { sessionId: publisher, layer } })
  }

  totalPackets(kind: 'video' | 'audio'): number {
    let sum = 0
    for (const count of this.slots.values()) if (count.kind === kind) sum += count.packets
    return sum
  }

  /** The slot (mid) carrying `publisher`, per the latest mapping. */
  slotOf(publisher: string, kind: 'video' | 'audio'): string | undefined {
    const map = this.mapping?.[kind] ?? {}
    return Object.keys(map).find((mid) => map[mid] === publisher)
  }

  /** First keyframe after the answer went out, ms; null before one came. */
  get firstKeyframeMs(): number | null {
    if (this.answeredAt === null) return null
    let first: number | null = null
    for (const count of this.slots.values()) if (count.firstKeyframeAt !== null) first = Math.min(first ?? Infinity, count.firstKeyframeAt)
    return first === null ? null : first - this.answeredAt
  }

  /** Packets per second received over the last few seconds. */
  packetsPerSecond(): number {
    const first = this.#samples[0]
    const last = this.#samples[this.#samples.length - 1]
    if (!first || !last || last.at === first.at) return 0
    return ((last.packets - first.packets) * 1000) / (last.at - first.at)
  }

  close(): void {
    clearInterval(this.#sampler)
    void this.pc.close()
  }
}
