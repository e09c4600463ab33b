import type { RoomSession } from '../protocol/room-codes'
import { SFU_NOTIFY, SFU_SESSION, SIMULCAST_LAYERS, type LayerRid, type SfuSlots } from '../protocol/sfu'
import { PeerLink, toConnectionState, type CandidateValue } from './media/peer-link'
import { keepRecent } from './media/stats/monitor'
import { connectionQuality } from './media/stats/quality'
import type { StatsSample, WebRTCStats } from './media/stats/types'
import type { MediaLink, MediaView, RoomMediaEngine, RoomMediaEngineIo } from './room-engine'
import { closeSendLink, openSendLink } from './room-media'
import { memberOfMid, parseLayer, parseSlots, slotChanges, slotsByMember, stalledVideo, type MemberSlots } from './sfu-slots'

/** How often the receive connection's video slots are checked for a stuck picture (a keyframe is then asked for). */
export const SFU_FRAME_CHECK_MS = 1_000
/**
 * Our receive connection down this long JOINs again for a new one. Shorter than a mesh link's
 * grace: the SFU never restarts its ICE, so waiting longer only keeps the room dark.
 */
export const SFU_RECEIVE_GRACE_MS = 8_000

/**
 * Where our signals to the SFU go. A function, not a module-level object: reading an imported
 * object's field at the top counts as a side effect to the bundler, which then kept the rooms
 * SDK in the page's first download (81 → 99 KB gzip).
 */
function sfuTarget(): { sessionId: string; userId: string } {
  return { sessionId: SFU_SESSION.sessionId, userId: SFU_SESSION.userId }
}

/**
 * A session's media in an SFU room (`eg: 'sfu'`, src/protocol/sfu.ts): one **receive**
 * connection, offered by the SFU in the JOIN ack and answered here, whose fixed slots carry
 * whichever members the SFU's `sfu.slots` NOTIFY names (regrouped into one stream per
 * member); and, while we publish, one **send** connection we offer, our video in simulcast
 * (SIMULCAST_LAYERS). The SFU tells the layer it forwards of each publisher (`sfu.layer`); we
 * may ask for one (`setLayer`) and ask for a keyframe when a slot's picture is stuck.
 */
export class SfuRoomMedia implements RoomMediaEngine {
  readonly engine = 'sfu'
  local: MediaStream | null = null
  readonly remoteStreams = new Map<string, MediaStream>()
  /** The layer the SFU forwards us of each publisher, as it last said. */
  readonly layers = new Map<string, LayerRid>()
  private receive: PeerLink | null = null
  /** The offer the receive connection answered: a JOIN ack with another one replaces it. */
  private receiveOffer: string | null = null
  private send: PeerLink | null = null
  private slots: SfuSlots = { video: {}, audio: {} }
  /** Members with a stream now, and the slots it is made of. */
  private grouping = new Map<string, MemberSlots>()
  private view: MediaView | null = null
  /** Each member's share of the receive connection's stats, for its diagnosis. */
  private readonly history = new Map<string, StatsSample[]>()
  private frameCheck: ReturnType<typeof setInterval> | null = null
  private framesBefore = new Map<string, number>()

  constructor(private readonly io: RoomMediaEngineIo) {}

  get publishers(): string[] {
    return [...this.grouping.keys()]
  }

  sync(view: MediaView, rejoined: boolean): void {
    const before = this.view
    this.view = view
    // A screen share only sends: the SFU forwarding everyone to it would be wasted.
    if (view.self.category !== 'screenshare' && view.offer !== undefined && (rejoined || view.offer !== this.receiveOffer)) this.openReceiving(view.offer)
    if (rejoined || !view.self.sending || !this.local) this.closeSending()
    if (view.self.sending && this.local && !this.send) this.openSending()
    // Members new to the list hear how their media reaches us.
    for (const member of view.members) {
      if (member.publish && !before?.members.some((each) => each.sessionId === member.sessionId)) this.tellState(member.sessionId)
    }
    this.regroup()
  }

  /** The SFU re-offers our receive connection (an ICE restart); members never offer in an SFU room. */
  offer(from: RoomSession, sdp: string | { type: string; sdp: string }): void {
    if (from.sessionId === SFU_SESSION.sessionId) this.receive?.remoteOffer(sdp)
  }

  answer(from: RoomSession, sdp: string | { type: string; sdp: string }): void {
    if (from.sessionId === SFU_SESSION.sessionId) this.send?.remoteAnswer(sdp)
  }

  /** `side` names our end: `subscriber` our receive connection, `publisher` our send connection. */
  candidate(from: RoomSession, side: 'publisher' | 'subscriber', candidate: CandidateValue): void {
    if (from.sessionId !== SFU_SESSION.sessionId) return
    ;(side === 'subscriber' ? this.receive : this.send)?.addRemoteCandidate(candidate)
  }

  notify(from: RoomSession, type: string, data: unknown): boolean {
    if (from.sessionId !== SFU_SESSION.sessionId) return false
    if (type === SFU_NOTIFY.slots) {
      const slots = parseSlots(data)
      if (slots) {
        this.slots = slots
        this.regroup()
      }
    } else if (type === SFU_NOTIFY.layer) {
      const layer = parseLayer(data)
      // Only a member's: the map is emptied as their streams go (streamGone).
      if (layer && this.io.member(layer.sessionId) && this.layers.get(layer.sessionId) !== layer.layer) {
        this.layers.set(layer.sessionId, layer.layer)
        this.io.layer(layer)
      }
    }
    return true
  }

  /** Asks the SFU for a layer of a publisher (`auto`: its own choice by our bandwidth). */
  setLayer(sessionId: string, layer: LayerRid | 'auto'): Promise<void> {
    return this.io.signal(sfuTarget(), { action: 'notify', type: SFU_NOTIFY.layer, data: { sessionId, layer } })
  }

  /** Asks the SFU for a keyframe of a publisher (it rate-limits them: KEYFRAME_REQUEST_INTERVAL_MS). */
  requestKeyframe(sessionId: string): Promise<void> {
    return this.io.signal(sfuTarget(), { action: 'notify', type: SFU_NOTIFY.keyframe, data: { sessionId } })
  }

  /** Whoever asks, our media goes through our one send connection. */
  sendingTo(): PeerLink | null {
    return this.send
  }

  receivingFrom(sessionId: string): MediaLink | null {
    if (!this.receive || !this.grouping.has(sessionId)) return null
    return { pc: this.receive.pc, stats: { samples: this.history.get(sessionId) ?? [], sendPeriods: [] } }
  }

  pause(): void {
    this.send?.paused()
  }

  stopSending(): void {
    this.closeSending()
  }

  closeAll(): void {
    this.closeSending()
    this.closeReceiving()
    this.slots = { video: {}, audio: {} }
    this.layers.clear()
    this.view = null
  }

  private openReceiving(offer: string): void {
    this.closeReceiving()
    const link: PeerLink = new PeerLink({
      configuration: () => this.io.configuration(),
      signaling: {
        offer: () => Promise.reject(new Error('the SFU offers our receive connection')),
        answer: (sdp) => this.io.signal(sfuTarget(), { action: 'answer', sdp }),
        candidate: (candidate) => this.io.signal(sfuTarget(), { action: 'candidate', side: 'subscriber', candidate }),
      },
      offerer: false,
      graceMs: SFU_RECEIVE_GRACE_MS,
      stats: { intervalMs: this.io.statsIntervalMs, source: SFU_SESSION.userId, sessionId: SFU_SESSION.sessionId, sample: (sample) => this.splitStats(sample) },
      hooks: {
        connectionState: (rtc) => {
          this.tellPublishers()
          if (rtc === 'connected') this.startFrameCheck()
        },
        track: () => this.regroup(),
        // Only the SFU can offer this connection anew: a JOIN again brings its new offer.
        giveUp: () => { if (this.receive === link) this.io.rejoin() },
      },
    })
    this.receive = link
    this.receiveOffer = offer
    link.remoteOffer(offer)
  }

  private closeReceiving(): void {
    const link = this.receive
    if (!link) return
    this.receive = null
    this.receiveOffer = null
    this.stopFrameCheck()
    link.close()
    this.tellPublishers()
    for (const sessionId of [...this.grouping.keys()]) this.streamGone(sessionId)
    this.grouping = new Map()
    this.history.clear()
  }

  private openSending(): void {
    const local = this.local
    if (!local) return
    const sendEncodings = SIMULCAST_LAYERS.map(({ rid, scaleResolutionDownBy, maxBitrate }) => ({ rid, scaleResolutionDownBy, maxBitrate }))
    this.send = openSendLink(this.io, sfuTarget(), local, {
      isCurrent: (link) => this.send === link,
      reopen: () => {
        this.closeSending()
        this.openSending()
      },
    }, sendEncodings)
  }

  private closeSending(): void {
    const link = this.send
    if (!link) return
    this.send = null
    closeSendLink(this.io, SFU_SESSION.sessionId, link)
  }

  /** The slots as the SFU last named them, over the tracks our receive connection has: a stream per member. */
  private regroup(): void {
    const link = this.receive
    const view = this.view
    if (!link || !view) return
    const tracks = this.tracksByMid(link)
    const next = new Map<string, MemberSlots>()
    for (const [sessionId, slots] of slotsByMember(this.slots)) {
      if (sessionId === view.self.sessionId || view.own.has(sessionId)) continue
      const usable = { video: slots.video !== null && tracks.has(slots.video) ? slots.video : null, audio: slots.audio !== null && tracks.has(slots.audio) ? slots.audio : null }
      if (usable.video !== null || usable.audio !== null) next.set(sessionId, usable)
    }
    const { changed, gone } = slotChanges(this.grouping, next)
    this.grouping = next
    for (const sessionId of gone) this.streamGone(sessionId)
    for (const sessionId of changed) {
      const slots = next.get(sessionId)!
      const stream = new MediaStream([slots.video, slots.audio].flatMap((mid) => (mid === null ? [] : [tracks.get(mid)!])))
      this.remoteStreams.set(sessionId, stream)
      this.tellStream(sessionId, stream)
    }
  }

  private streamGone(sessionId: string): void {
    this.history.delete(sessionId)
    this.layers.delete(sessionId)
    if (this.remoteStreams.delete(sessionId)) this.tellStream(sessionId, null)
  }

  private tellStream(sessionId: string, stream: MediaStream | null): void {
    const member = this.io.member(sessionId)
    this.io.remoteStream({ sessionId, userId: member?.userId ?? '', category: member?.category ?? 'stream', stream })
  }

  private tracksByMid(link: PeerLink): Map<string, MediaStreamTrack> {
    const tracks = new Map<string, MediaStreamTrack>()
    for (const transceiver of link.pc.getTransceivers()) if (transceiver.mid !== null) tracks.set(transceiver.mid, transceiver.receiver.track)
    return tracks
  }

  /** One reading of the receive connection, split into one sample per member by the slot each track carries. */
  private splitStats(sample: StatsSample): void {
    const link = this.receive
    if (!link) return
    const midOfTrack = new Map([...this.tracksByMid(link)].map(([mid, track]) => [track.id, mid]))
    const byMember = new Map<string, WebRTCStats[]>()
    for (const stats of sample.stats) {
      const mid = midOfTrack.get(stats.trackId)
      const sessionId = mid === undefined ? null : memberOfMid(this.grouping, mid)
      if (sessionId === null) continue // an idle slot
      const member = this.io.member(sessionId)
      byMember.set(sessionId, [...(byMember.get(sessionId) ?? []), { ...stats, srcUserId: member?.userId ?? stats.srcUserId }])
    }
    for (const [sessionId, stats] of byMember) {
      const layer = this.layers.get(sessionId)
      const own: StatsSample & { layer?: LayerRid } = { sessionId, stats, quality: connectionQuality(stats), at: sample.at, ...(layer ? { layer } : {}) }
      const history = this.history.get(sessionId) ?? []
      keepRecent(history, own, sample.at)
      this.history.set(sessionId, history)
      this.io.stats(own)
    }
  }

  /** How a publisher's media reaches us: the receive connection's state. */
  private tellState(sessionId: string): void {
    const state = this.receive ? toConnectionState(this.receive.pc.connectionState) : 'disconnected'
    this.io.connectionState({ sessionId, state, direction: 'receive' })
  }

  private tellPublishers(): void {
    for (const member of this.view?.members ?? []) if (member.publish) this.tellState(member.sessionId)
  }

  /** While the receive connection is up: a video slot that decoded nothing for a check's time gets a keyframe asked for. */
  private startFrameCheck(): void {
    if (this.frameCheck !== null) return
    this.frameCheck = setInterval(() => void this.checkFrames(), SFU_FRAME_CHECK_MS)
  }

  private stopFrameCheck(): void {
    if (this.frameCheck !== null) clearInterval(this.frameCheck)
    this.frameCheck = null
    this.framesBefore = new Map()
  }

  private async checkFrames(): Promise<void> {
    const link = this.receive
    if (!link || link.pc.connectionState !== 'connected') return
    const report = await link.pc.getStats().catch(() => null)
    if (!report || this.receive !== link) return
    const frames = new Map<string, number>()
    for (const entry of report.values() as IterableIterator<Record<string, unknown>>) {
      if (entry.type === 'inbound-rtp' && entry.kind === 'video' && typeof entry.mid === 'string') frames.set(entry.mid, Number(entry.framesDecoded ?? 0))
    }
    const cameraOn = (sessionId: string) => this.io.member(sessionId)?.video ?? false
    for (const sessionId of stalledVideo(this.framesBefore, frames, this.grouping, cameraOn)) {
      void this.requestKeyframe(sessionId).catch(() => undefined) // the SFU or the room went meanwhile
    }
    this.framesBefore = frames
  }
}
