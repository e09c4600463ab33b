import type { RtpPacket } from 'werift'
import { SFU_AUDIO_SLOTS, SFU_NOTIFY, SFU_VIDEO_SLOTS, SIMULCAST_LAYERS, type LayerRid, type SfuSlots } from '../../protocol/sfu'
import type { SfuMember, SfuSignal } from './sfu-ipc'
import { AudioLevels } from './audio-levels'
import type { SfuContext } from './counters'
import { chooseLayer, initialLayerChoice } from './layer-choice'
import type { PeerOptions } from './peer-config'
import { Publisher } from './publisher'
import type { AudioSlot, ReceiveConnection, VideoSlot } from './receive-connection'
import { assignSlots, lastSpeakers, loudest, type SpeakerView } from './slot-assignment'
import { parseSfuSignal } from './sfu-signals'

const TOP_LAYER = SIMULCAST_LAYERS[0]
const LOW_LAYER = SIMULCAST_LAYERS[SIMULCAST_LAYERS.length - 1]
/** What a publisher may send when a viewer needs its top layer: every layer's maximum. */
const FULL_BITRATE = SIMULCAST_LAYERS.reduce((sum, layer) => sum + layer.maxBitrate, 0)

interface Member {
  info: SfuMember
  since: number
  receive: ReceiveConnection | null
  publisher: Publisher | null
  /** Video and audio slots of other members that carry this one. */
  readonly videoWatchers: Set<VideoSlot>
  readonly audioWatchers: Set<AudioSlot>
  /** This member's layer wishes per publisher (`sfu.layer`). */
  readonly preferences: Map<string, LayerRid | 'auto'>
  /** The last `sfu.slots` sent (JSON), to send only changes. */
  slotsSent: string | null
}

export interface RoomOutput {
  signal(to: string, signal: SfuSignal): void
}

/**
 * One room's forwarding: who publishes, who sees whom in which slot, at which layer. The
 * worker feeds it member lists, bound receive connections, member signals and a tick.
 */
export class SfuRoom {
  readonly #members = new Map<string, Member>()
  readonly #levels = new AudioLevels()
  readonly #options: PeerOptions
  readonly #context: SfuContext
  readonly #output: RoomOutput

  constructor(options: PeerOptions, context: SfuContext, output: RoomOutput) {
    this.#options = options
    this.#context = context
    this.#output = output
  }

  get memberCount(): number {
    return this.#members.size
  }

  get connectionCount(): number {
    let count = 0
    for (const member of this.#members.values()) count += (member.receive ? 1 : 0) + (member.publisher ? 1 : 0)
    return count
  }

  #member(sessionId: string, info?: SfuMember): Member {
    let member = this.#members.get(sessionId)
    if (!member) {
      member = {
        info: info ?? { sessionId, publish: false, video: false, audio: false },
        since: this.#context.now(),
        receive: null,
        publisher: null,
        videoWatchers: new Set(),
        audioWatchers: new Set(),
        preferences: new Map(),
        slotsSent: null,
      }
      this.#members.set(sessionId, member)
    }
    return member
  }

  /** The room's whole member list: the absent leave, publishers who stopped lose their send connection. */
  setMembers(list: readonly SfuMember[]): void {
    const listed = new Set(list.map((m) => m.sessionId))
    for (const sessionId of [...this.#members.keys()]) if (!listed.has(sessionId)) this.#remove(sessionId)
    for (const info of list) {
      const member = this.#member(info.sessionId, info)
      member.info = info
      if (!info.publish && member.publisher) member.publisher.close()
    }
    this.#assignSlots()
  }

  /** A prepared receive connection is now this member's; an earlier one closes. */
  bind(sessionId: string, connection: ReceiveConnection): void {
    const member = this.#member(sessionId)
    if (member.receive) this.#dropReceive(member)
    member.receive = connection
    member.slotsSent = null
    connection.bindTo({
      connected: () => {
        if (member.receive !== connection) return
        member.slotsSent = null
        this.#assignSlots()
        for (const slot of connection.video) this.#askKeyframe(slot)
      },
      pictureLost: (slot) => this.#askKeyframe(slot),
    })
  }

  async signal(from: string, raw: SfuSignal): Promise<void> {
    const member = this.#members.get(from)
    if (!member) return this.#context.log(`signal from ${from}, not a member of the room; dropped`)
    const signal = parseSfuSignal(raw)
    if (!signal.ok) return this.#fail(member, signal.side, signal.reason)
    switch (signal.s) {
      case 'ANSWER': {
        const receive = member.receive
        if (!receive) return this.#context.log(`ANSWER from ${from} without a receive connection; dropped`)
        try {
          await receive.answer(signal.sdp)
        } catch (error) {
          if (member.receive === receive) this.#fail(member, 'subscriber', `bad ANSWER: ${String(error)}`)
        }
        return
      }
      case 'OFFER': {
        if (!member.info.publish) return this.#context.log(`OFFER from ${from}, who may not publish; dropped`)
        const publisher = member.publisher ?? this.#publisher(member)
        try {
          const sdp = await publisher.answer(signal.sdp)
          if (member.publisher === publisher) this.#output.signal(from, { s: 'ANSWER', sdp: { type: 'answer', sdp } })
        } catch (error) {
          if (member.publisher === publisher) this.#fail(member, 'publisher', `bad OFFER: ${String(error)}`)
        }
        return
      }
      case 'CANDIDATE': {
        const pc = signal.side === 'subscriber' ? member.receive?.pc : member.publisher?.pc
        if (!pc) return
        // One unusable candidate (an mDNS name, IPv6) is normal and leaves the others working: log only.
        await pc.addIceCandidate(signal.candidate).catch((error: unknown) => this.#context.log(`candidate from ${from} refused: ${String(error)}`))
        return
      }
      case 'NOTIFY':
        if (signal.type === 'ignored') return
        if (signal.type === SFU_NOTIFY.layer) {
          // A wish about someone in the room only: any other name would grow the map for nothing.
          if (!this.#members.has(signal.publisher)) return
          member.preferences.set(signal.publisher, signal.layer)
          this.#chooseLayers(member)
        } else {
          for (const slot of member.receive?.video ?? []) if (slot.publisher === signal.publisher) this.#askKeyframe(slot, true)
        }
        return
      default: {
        const never: never = signal
        return never
      }
    }
  }

  #publisher(member: Member): Publisher {
    const sessionId = member.info.sessionId
    const publisher: Publisher = new Publisher(this.#options, this.#context, {
      video: (rid, packet, keyframe) => this.#forwardVideo(member, rid, packet, keyframe),
      audio: (packet, level) => this.#forwardAudio(member, packet, level),
      closed: () => {
        if (member.publisher !== publisher) return
        member.publisher = null
        this.#levels.remove(sessionId)
        this.#assignSlots()
      },
    })
    member.publisher = publisher
    return publisher
  }

  #forwardVideo(publisher: Member, rid: LayerRid, packet: RtpPacket, keyframe: boolean): void {
    for (const slot of publisher.videoWatchers) {
      if (slot.layer !== rid) {
        // Switch (or start) only at a keyframe of the layer wanted, on a connection that can send it.
        if (!keyframe || slot.choice.target !== rid) continue
        const viewer = this.#viewerOf(slot)
        if (!viewer?.receive?.connected) continue
        slot.layer = rid
        slot.rewriter.switchSource()
        this.#output.signal(viewer.info.sessionId, { s: 'NOTIFY', type: SFU_NOTIFY.layer, data: { sessionId: publisher.info.sessionId, layer: rid } })
      }
      this.#viewerOf(slot)?.receive?.forward(slot, packet)
    }
  }

  #forwardAudio(publisher: Member, packet: RtpPacket, level: number | undefined): void {
    this.#levels.add(publisher.info.sessionId, level, this.#context.now())
    for (const slot of publisher.audioWatchers) this.#viewerOf(slot)?.receive?.forward(slot, packet, level)
  }

  /** Slot → viewer, kept beside the slots so the hot path does not search. */
  readonly #slotViewer = new WeakMap<VideoSlot | AudioSlot, Member>()
  #viewerOf(slot: VideoSlot | AudioSlot): Member | undefined {
    return this.#slotViewer.get(slot)
  }

  /** A keyframe of the layer a slot wants (rate-limited per publisher layer). `always`: even when it has one (the viewer asked). */
  #askKeyframe(slot: VideoSlot, always = false): void {
    if (slot.publisher === null) return
    const publisher = this.#members.get(slot.publisher)?.publisher
    const rid = slot.choice.target
    if (!publisher || rid === null) return
    if (always || slot.layer !== rid) publisher.requestKeyframe(rid)
  }

  /** Every few hundred ms: slots, layers, keyframe retries, bitrate caps. */
  tick(): void {
    for (const member of this.#members.values()) member.publisher?.tick()
    this.#assignSlots()
    for (const member of this.#members.values()) this.#chooseLayers(member)
    for (const member of this.#members.values()) {
      if (!member.receive?.connected) continue
      // Until a slot forwards the layer it wants (its first keyframe, or a switch), keep asking.
      for (const slot of member.receive.video) this.#askKeyframe(slot)
    }
    this.#capPublishers()
  }

  #speakers(kind: 'video' | 'audio'): SpeakerView[] {
    const views: SpeakerView[] = []
    for (const member of this.#members.values()) {
      const { publisher, info } = member
      if (!publisher || !info.publish) continue
      if (kind === 'video' ? !(info.video && publisher.hasLiveVideo) : !(info.audio && publisher.hasLiveAudio)) continue
      const id = info.sessionId
      views.push({ id, activity: this.#levels.activity(id, this.#context.now()), spokeAt: this.#levels.spokeAt(id), since: member.since })
    }
    return views
  }

  #assignSlots(): void {
    const video = this.#speakers('video')
    const audio = this.#speakers('audio')
    for (const viewer of this.#members.values()) {
      const receive = viewer.receive
      if (!receive) continue
      const self = viewer.info.sessionId
      const wantedVideo = lastSpeakers(video.filter((s) => s.id !== self), SFU_VIDEO_SLOTS)
      const currentAudio = receive.audio.map((slot) => slot.publisher)
      const wantedAudio = loudest(audio.filter((s) => s.id !== self), currentAudio, SFU_AUDIO_SLOTS)
      this.#place(viewer, receive.video, assignSlots(receive.video.map((slot) => slot.publisher), wantedVideo))
      this.#place(viewer, receive.audio, assignSlots(currentAudio, wantedAudio))
      this.#notifySlots(viewer)
    }
  }

  #place(viewer: Member, slots: readonly (VideoSlot | AudioSlot)[], next: readonly (string | null)[]): void {
    slots.forEach((slot, index) => {
      const id = next[index]
      if (slot.publisher === id) return
      this.#unwatch(slot)
      slot.publisher = id
      slot.rewriter.switchSource()
      if (id === null) return
      const publisher = this.#members.get(id)
      if (!publisher) return
      this.#slotViewer.set(slot, viewer)
      if (slot.kind === 'audio') {
        publisher.audioWatchers.add(slot)
        return
      }
      slot.loss = 0 // layer and choice start afresh: an idle slot has none (#unwatch)
      publisher.videoWatchers.add(slot)
      this.#chooseLayer(viewer, slot)
      this.#askKeyframe(slot)
    })
  }

  /** The slot stops carrying its publisher (it stays idle until placed again). */
  #unwatch(slot: VideoSlot | AudioSlot): void {
    if (slot.publisher === null) return
    const publisher = this.#members.get(slot.publisher)
    if (slot.kind === 'video') {
      publisher?.videoWatchers.delete(slot)
      slot.layer = null
      slot.choice = initialLayerChoice
    } else {
      publisher?.audioWatchers.delete(slot)
    }
    this.#slotViewer.delete(slot)
    slot.publisher = null
  }

  #notifySlots(viewer: Member): void {
    const receive = viewer.receive
    if (!receive?.connected) return
    const slots: SfuSlots = {
      video: Object.fromEntries(receive.video.map((slot) => [slot.mid, slot.publisher])),
      audio: Object.fromEntries(receive.audio.map((slot) => [slot.mid, slot.publisher])),
    }
    const json = JSON.stringify(slots)
    if (json === viewer.slotsSent) return
    viewer.slotsSent = json
    this.#output.signal(viewer.info.sessionId, { s: 'NOTIFY', type: SFU_NOTIFY.slots, data: slots })
  }

  #chooseLayers(viewer: Member): void {
    for (const slot of viewer.receive?.video ?? []) this.#chooseLayer(viewer, slot)
  }

  #chooseLayer(viewer: Member, slot: VideoSlot): void {
    if (slot.publisher === null || !viewer.receive) return
    const publisher = this.#members.get(slot.publisher)?.publisher
    if (!publisher) return
    const filled = viewer.receive.video.filter((s) => s.publisher !== null).length
    const estimate = viewer.receive.estimate
    const before = slot.choice.target
    slot.choice = chooseLayer(slot.choice, {
      layers: publisher.layerViews(),
      budget: estimate === undefined ? undefined : estimate / Math.max(1, filled),
      loss: slot.loss,
      preference: viewer.preferences.get(slot.publisher) ?? 'auto',
      nowMs: this.#context.now(),
    })
    if (slot.choice.target !== before) this.#askKeyframe(slot)
  }

  /**
   * REMB to each publisher: all its layers while some viewer may take the top one (now, or
   * on its next probe up), else only what the low layer needs — nobody watches, or every
   * watcher asked for less — and the publisher's encoder drops what nobody sees.
   */
  #capPublishers(): void {
    for (const member of this.#members.values()) {
      const publisher = member.publisher
      if (!publisher) continue
      const sessionId = member.info.sessionId
      const needTop = [...member.videoWatchers].some((slot) => {
        const wish = this.#viewerOf(slot)?.preferences.get(sessionId) ?? 'auto'
        return wish === 'auto' || wish === TOP_LAYER.rid
      })
      publisher.sendRemb(needTop ? FULL_BITRATE : LOW_LAYER.maxBitrate)
    }
  }

  #dropReceive(member: Member): void {
    const receive = member.receive
    if (!receive) return
    for (const slot of [...receive.video, ...receive.audio]) this.#unwatch(slot)
    member.receive = null
    member.slotsSent = null
    receive.close()
  }

  /** A connection of `member` failed on bad input: log it and close that connection. */
  #fail(member: Member, side: 'publisher' | 'subscriber', reason: string): void {
    this.#context.log(`${member.info.sessionId} (${side}): ${reason.slice(0, 200)}; connection closed`)
    if (side === 'subscriber') this.#dropReceive(member)
    else member.publisher?.close()
  }

  #remove(sessionId: string): void {
    const member = this.#members.get(sessionId)
    if (!member) return
    this.#dropReceive(member)
    for (const slot of [...member.videoWatchers, ...member.audioWatchers]) this.#unwatch(slot)
    const publisher = member.publisher
    member.publisher = null
    publisher?.close()
    this.#levels.remove(sessionId)
    this.#members.delete(sessionId)
    for (const other of this.#members.values()) other.preferences.delete(sessionId)
  }

  close(): void {
    for (const sessionId of [...this.#members.keys()]) this.#remove(sessionId)
  }
}
