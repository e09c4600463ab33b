import {
  ReceiverEstimatedMaxBitrate, RTCPeerConnection, RtcpPayloadSpecificFeedback, RTP_EXTENSION_URI,
  type MediaStreamTrack, type RtpPacket, type RTCRtpReceiver,
} from 'werift'
import { SIMULCAST_LAYERS, type LayerRid } from '../../protocol/sfu'
import type { SfuContext } from './counters'
import { KeyframeLimiter } from './keyframe-limiter'
import { LAYER_LIVE_MS, type LayerView } from './layer-choice'
import { gathered, localSdp, sendPeer, type PeerOptions } from './peer-config'
import { isVp8KeyframeStart } from './vp8'

/** Bitrate of a layer is measured over windows this long. */
const BITRATE_WINDOW_MS = 1000

/** One simulcast layer (or the only video stream, as the top layer) as it arrives. */
interface InboundLayer {
  rid: LayerRid
  receiver: RTCRtpReceiver
  /** From the first packet (simulcast streams name no SSRC in the SDP). */
  ssrc: number | null
  lastPacketAt: number
  windowStart: number
  windowBytes: number
  bitrate: number
}

export interface PublisherHooks {
  video(rid: LayerRid, packet: RtpPacket, keyframe: boolean): void
  /** `level`: the ssrc-audio-level header (0 loudest … 127 silent), when present. */
  audio(packet: RtpPacket, level: number | undefined): void
  closed(): void
}

/** A member's send connection: its video layers and audio, keyframe requests and bitrate caps back to it. */
export class Publisher {
  readonly pc: RTCPeerConnection
  readonly #layers = new Map<LayerRid, InboundLayer>()
  #audio: { lastPacketAt: number } | null = null
  readonly #limiter = new KeyframeLimiter<LayerRid>()
  readonly #context: SfuContext
  readonly #hooks: PublisherHooks
  readonly #options: PeerOptions
  #closed = false

  constructor(options: PeerOptions, context: SfuContext, hooks: PublisherHooks) {
    this.#context = context
    this.#hooks = hooks
    this.#options = options
    this.pc = sendPeer(options)
    // Before setRemoteDescription: werift fires onTrack from inside it (FACTS "werift as an SFU").
    this.pc.ontrack = ({ track, receiver }) => this.#attach(track, receiver)
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'failed' || state === 'closed') this.close()
    })
  }

  /** Applies the member's offer and returns the answer (candidates included). */
  async answer(offer: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer })
    // Simulcast: every rid is a track of the same receiver; onTrack named only the first.
    for (const transceiver of this.pc.getTransceivers()) {
      for (const track of transceiver.receiver.tracks) this.#attach(track, transceiver.receiver)
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer())
    await gathered(this.pc)
    return localSdp(this.pc, this.#options)
  }

  #attached = new WeakSet<MediaStreamTrack>()
  #attach(track: MediaStreamTrack, receiver: RTCRtpReceiver): void {
    if (this.#attached.has(track)) return
    this.#attached.add(track)
    if (track.kind === 'audio') {
      const audio = { lastPacketAt: -Infinity }
      this.#audio = audio
      track.onReceiveRtp.subscribe((packet, extensions) => {
        audio.lastPacketAt = this.#context.now()
        const header = extensions?.[RTP_EXTENSION_URI.audioLevelIndication] as { level: number } | undefined
        this.#hooks.audio(packet, header?.level)
      })
      return
    }
    const rid = (track.rid ?? SIMULCAST_LAYERS[0].rid) as LayerRid
    if (!SIMULCAST_LAYERS.some((layer) => layer.rid === rid)) {
      this.#context.log(`publisher sent an unknown simulcast rid ${JSON.stringify(track.rid)}; ignored`)
      return
    }
    const layer: InboundLayer = { rid, receiver, ssrc: null, lastPacketAt: -Infinity, windowStart: this.#context.now(), windowBytes: 0, bitrate: 0 }
    this.#layers.set(rid, layer)
    track.onReceiveRtp.subscribe((packet) => {
      const now = this.#context.now()
      layer.ssrc ??= packet.header.ssrc
      layer.lastPacketAt = now
      layer.windowBytes += packet.payload.length + 12
      this.#hooks.video(rid, packet, isVp8KeyframeStart(packet.payload))
    })
  }

  get hasLiveVideo(): boolean {
    const now = this.#context.now()
    for (const layer of this.#layers.values()) if (now - layer.lastPacketAt < LAYER_LIVE_MS) return true
    return false
  }

  get hasLiveAudio(): boolean {
    return this.#audio !== null && this.#context.now() - this.#audio.lastPacketAt < LAYER_LIVE_MS
  }

  /** The layers this publisher negotiated, highest first, as measured now. */
  layerViews(): LayerView[] {
    const now = this.#context.now()
    const views: LayerView[] = []
    for (const { rid } of SIMULCAST_LAYERS) {
      const layer = this.#layers.get(rid)
      if (layer) views.push({ rid, bitrate: layer.bitrate, live: now - layer.lastPacketAt < LAYER_LIVE_MS })
    }
    return views
  }

  /** Asks for a keyframe of `rid`, at most once per KEYFRAME_REQUEST_INTERVAL_MS (a later ask waits for `tick`). */
  requestKeyframe(rid: LayerRid): void {
    if (this.#limiter.request(rid, this.#context.now())) this.#sendPli(rid)
  }

  #sendPli(rid: LayerRid): void {
    const layer = this.#layers.get(rid)
    if (!layer || layer.ssrc === null || this.#closed) return
    this.#context.counters.keyframeRequests++
    void layer.receiver.sendRtcpPLI(layer.ssrc)
  }

  /** Bitrate windows, held-back keyframe requests. */
  tick(): void {
    const now = this.#context.now()
    for (const layer of this.#layers.values()) {
      const elapsed = now - layer.windowStart
      if (elapsed >= BITRATE_WINDOW_MS) {
        layer.bitrate = (layer.windowBytes * 8 * 1000) / elapsed
        layer.windowBytes = 0
        layer.windowStart = now
      }
    }
    for (const rid of this.#limiter.due(now)) this.#sendPli(rid)
  }

  /** Caps what the publisher sends (REMB on its send connection). */
  sendRemb(bitrate: number): void {
    const ssrcs = [...this.#layers.values()].flatMap((layer) => (layer.ssrc === null ? [] : [layer.ssrc]))
    const transport = this.pc.dtlsTransports[0]
    if (ssrcs.length === 0 || !transport || transport.state !== 'connected') return
    // REMB's bitrate is an 18-bit mantissa and a 6-bit exponent.
    let mantissa = Math.max(0, Math.floor(bitrate))
    let exponent = 0
    while (mantissa >= 1 << 18) {
      mantissa = Math.floor(mantissa / 2)
      exponent++
    }
    const remb = new ReceiverEstimatedMaxBitrate({
      senderSsrc: this.#layers.values().next().value?.receiver.rtcpSsrc ?? 0,
      mediaSsrc: 0,
      brExp: exponent,
      brMantissa: mantissa,
      bitrate: BigInt(mantissa) << BigInt(exponent),
      ssrcNum: ssrcs.length,
      ssrcFeedbacks: ssrcs,
    })
    transport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]).catch((error: unknown) => {
      this.#context.log(`REMB to publisher failed: ${String(error)}`)
    })
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#layers.clear()
    this.#audio = null
    this.pc.close().catch((error: unknown) => this.#context.log(`closing a send connection: ${String(error)}`))
    this.#hooks.closed()
  }
}
