import {
  RtcpPayloadSpecificFeedback, RtcpRrPacket, ReceiverEstimatedMaxBitrate, RTP_EXTENSION_URI,
  type RTCPeerConnection, type RTCRtpSender, type RtpPacket,
} from 'werift'
import { SFU_AUDIO_SLOTS, SFU_VIDEO_SLOTS, type LayerRid } from '../../protocol/sfu'
import type { SfuContext } from './counters'
import { initialLayerChoice, type LayerChoiceState } from './layer-choice'
import { gathered, localSdp, receivePeer, type PeerOptions } from './peer-config'
import { RtpRewriter } from './rtp-rewriter'

/** ssrc-audio-level payloads (V=1, level 0…127), made once. */
const LEVEL_PAYLOADS = Array.from({ length: 128 }, (_, level) => Buffer.from([0x80 | level]))

/** Weight of one receiver report in a slot's smoothed loss (Chrome reports about once a second). */
const LOSS_SMOOTHING = 0.3

interface Slot {
  readonly mid: string
  readonly sender: RTCRtpSender
  readonly rewriter: RtpRewriter
  /** The publisher this slot carries (sessionId), null when idle. */
  publisher: string | null
}

export interface VideoSlot extends Slot {
  readonly kind: 'video'
  /** The layer being forwarded; null until the first keyframe after the publisher was placed here. */
  layer: LayerRid | null
  choice: LayerChoiceState
  /** Smoothed fraction lost from the viewer's receiver reports. */
  loss: number
}

export interface AudioSlot extends Slot {
  readonly kind: 'audio'
}

export interface ReceiveHooks {
  connected(): void
  /** The viewer lost a picture on this slot (PLI): the publisher must send a keyframe. */
  pictureLost(slot: VideoSlot): void
}

/**
 * A member's receive connection, offered before the member exists (the relay hands the offer
 * out in the JOIN ack): SFU_VIDEO_SLOTS video and SFU_AUDIO_SLOTS audio senders, each
 * forwarding whichever publisher the room puts in it.
 */
export class ReceiveConnection {
  readonly pc: RTCPeerConnection
  readonly video: VideoSlot[]
  readonly audio: AudioSlot[]
  /** The viewer's bandwidth estimate (REMB), bit/s; undefined until one came. */
  estimate: number | undefined
  #connected = false
  #hooks: ReceiveHooks | null = null
  #audioLevelId: number | null = null
  readonly #context: SfuContext

  private constructor(options: PeerOptions, context: SfuContext) {
    this.#context = context
    this.pc = receivePeer(options)
    const slot = (sender: RTCRtpSender, clockRate: number) => ({ mid: '', sender, rewriter: new RtpRewriter(clockRate), publisher: null })
    this.video = Array.from({ length: SFU_VIDEO_SLOTS }, () => {
      const { sender } = this.pc.addTransceiver('video', { direction: 'sendonly' })
      const videoSlot: VideoSlot = { ...slot(sender, 90_000), kind: 'video', layer: null, choice: initialLayerChoice, loss: 0 }
      sender.onPictureLossIndication.subscribe(() => this.#hooks?.pictureLost(videoSlot))
      sender.onRtcp.subscribe((packet) => this.#feedback(videoSlot, packet))
      return videoSlot
    })
    this.audio = Array.from({ length: SFU_AUDIO_SLOTS }, () => {
      const { sender } = this.pc.addTransceiver('audio', { direction: 'sendonly' })
      return { ...slot(sender, 48_000), kind: 'audio' as const }
    })
    this.pc.connectionStateChange.subscribe((state) => {
      const connected = state === 'connected'
      if (connected === this.#connected) return
      this.#connected = connected
      if (connected) this.#hooks?.connected()
    })
  }

  /** A new receive connection and its offer (all candidates in it). */
  static async prepare(options: PeerOptions, context: SfuContext): Promise<{ connection: ReceiveConnection; sdp: string }> {
    const connection = new ReceiveConnection(options, context)
    try {
      await connection.pc.setLocalDescription(await connection.pc.createOffer())
      await gathered(connection.pc)
      const transceivers = connection.pc.getTransceivers()
      for (const slot of [...connection.video, ...connection.audio]) {
        ;(slot as { mid: string }).mid = transceivers.find((t) => t.sender === slot.sender)?.mid ?? ''
      }
      return { connection, sdp: localSdp(connection.pc, options) }
    } catch (error) {
      connection.close()
      throw error
    }
  }

  bindTo(hooks: ReceiveHooks): void {
    this.#hooks = hooks
  }

  async answer(sdp: string): Promise<void> {
    // An answer must answer each offered section. werift left an answer without them pending
    // now and then (neither applied nor refused), so the member's connection hung rather than failed.
    const sections = sdp.split(/\r?\n/).filter((line) => line.startsWith('m=')).length
    const offered = this.video.length + this.audio.length
    if (sections !== offered) throw new Error(`the answer has ${sections} media sections, the offer ${offered}`)
    await this.pc.setRemoteDescription({ type: 'answer', sdp })
    const audio = this.pc.getTransceivers().find((t) => t.sender === this.audio[0]?.sender)
    this.#audioLevelId = audio?.headerExtensions.find((e) => e.uri === RTP_EXTENSION_URI.audioLevelIndication)?.id ?? null
  }

  get connected(): boolean {
    return this.#connected
  }

  /** Sends one packet on a slot with its numbers rewritten; false if not sent. */
  forward(slot: VideoSlot | AudioSlot, packet: RtpPacket, level?: number): boolean {
    if (!this.#connected) return false
    const numbers = slot.rewriter.rewrite(packet.header.sequenceNumber, packet.header.timestamp, this.#context.now())
    if (!numbers) return false
    const { sequenceNumber, timestamp, extensions } = packet.header
    packet.header.sequenceNumber = numbers.sequenceNumber
    packet.header.timestamp = numbers.timestamp
    // The publisher's header extension ids mean nothing on this connection: only the audio
    // level goes on, under this connection's id (the sender adds mid and abs-send-time).
    packet.header.extensions = level !== undefined && this.#audioLevelId !== null
      ? [{ id: this.#audioLevelId, payload: LEVEL_PAYLOADS[level & 0x7f] }]
      : []
    // sendRtp copies the packet before its first await, so the caller's packet can be reused.
    slot.sender.sendRtp(packet).catch((error: unknown) => this.#context.log(`forwarding failed: ${String(error)}`))
    packet.header.sequenceNumber = sequenceNumber
    packet.header.timestamp = timestamp
    packet.header.extensions = extensions
    this.#context.counters.forwardedPackets++
    return true
  }

  #feedback(slot: VideoSlot, packet: unknown): void {
    if (packet instanceof RtcpRrPacket) {
      for (const report of packet.reports) {
        if (report.ssrc === slot.sender.ssrc) slot.loss += (report.fractionLost / 256 - slot.loss) * LOSS_SMOOTHING
      }
    } else if (packet instanceof RtcpPayloadSpecificFeedback && packet.feedback instanceof ReceiverEstimatedMaxBitrate) {
      this.estimate = Number(packet.feedback.bitrate)
    }
  }

  close(): void {
    this.#hooks = null
    this.#connected = false
    this.pc.close().catch((error: unknown) => this.#context.log(`closing a receive connection: ${String(error)}`))
  }
}
