/**
 * A child process of the SFU bench (bench/lib/sfu-members.ts) hosting browser-free members
 * (test/sfu/synthetic-member.ts) of one SFU room, each on its own raw /ws/rooms socket: the
 * publisher (room creator, a2m admin) or viewers. Kept out of the bench's own process so the
 * members' RTP work does not share an event loop with the measurements.
 */
import type { RTCPeerConnection } from 'werift'
import { SFU_SESSION } from '../../src/protocol/sfu'
import { SyntheticPublisher, SyntheticViewer, type MemberSignal } from '../../test/sfu/synthetic-member'
import { serveParent } from './forked-workers'
import { JsonWs } from './json-ws'
import type { MembersCommand, MemberSample, PublisherSample } from './sfu-members'

/** Any signal keeps a session present; the relay drops one silent for 30 s (ROOM_HEARTBEAT_TIMEOUT_MS). */
const HEARTBEAT_MS = 10_000
const ACK_TIMEOUT_MS = 10_000
/** The room type: the creator publishes, everyone else watches (1 publisher → N viewers). */
const ROOM_TYPE = 'a2m'
const TO_SFU = { sessionId: SFU_SESSION.sessionId }

type Frame = Record<string, unknown>

/** One member's socket: JOIN, the SFU's signals routed to `onSfu`, its own signals sent to the SFU. */
class MemberSocket {
  readonly ss: { userId: string; sessionId: string; category: 'stream'; host: 'Web'; deviceId: string }
  #heartbeat: NodeJS.Timeout | null = null
  #beats = 0
  onSfu: (signal: MemberSignal) => void = () => {}

  private constructor(readonly ws: JsonWs, readonly rid: string, name: string) {
    this.ss = { userId: name, sessionId: `${name}-s`, category: 'stream', host: 'Web', deviceId: `${name}-d` }
    ws.onMessage = (frame) => {
      const from = (frame.ss as { sessionId?: string } | undefined)?.sessionId
      if (frame.c === undefined && from === SFU_SESSION.sessionId) this.onSfu(frame as MemberSignal)
    }
  }

  static async open(url: string, rid: string, name: string): Promise<MemberSocket> {
    return new MemberSocket(await JsonWs.open(url, { keep: false }), rid, name)
  }

  /** Sends JOIN; resolves with the ack's `b` (a refusal throws). */
  async join(creating: boolean): Promise<Frame> {
    const ack = this.ws.waitFor((frame) => frame.s === 'JOIN' && frame.c !== undefined, ACK_TIMEOUT_MS)
    this.ws.send({ action: 'join', data: { s: 'JOIN', ch: ROOM_TYPE, ss: this.ss, rid: this.rid, ve: true, ae: true, eg: 'sfu', op: { roomCreating: creating } } })
    const frame = await ack
    if (!frame) throw new Error(`JOIN of ${this.ss.userId}: no ack within ${ACK_TIMEOUT_MS} ms`)
    if (frame.c !== 200) throw new Error(`JOIN of ${this.ss.userId} refused (${String(frame.c)}): ${String((frame.b as Frame | undefined)?.msg ?? JSON.stringify(frame).slice(0, 300))}`)
    this.#heartbeat = setInterval(() => this.ws.send({
      action: 'heartbeat', data: { s: 'HEARTBEAT', ch: ROOM_TYPE, ss: this.ss, rid: this.rid, bid: `b${++this.#beats}`, send_ack: false },
    }), HEARTBEAT_MS)
    return frame.b as Frame
  }

  /** A member signal (OFFER, ANSWER, NOTIFY, CANDIDATE) to the SFU. */
  toSfu(signal: MemberSignal): void {
    this.ws.send({ action: signal.s.toLowerCase(), data: { ...signal, ch: ROOM_TYPE, ss: this.ss, rid: this.rid, to: TO_SFU } })
  }

  close(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat)
    this.ws.close()
  }
}

/** Video frames (distinct RTP timestamps) per receive track, counted beside SyntheticViewer's own counts. */
function countFrames(pc: RTCPeerConnection): { frames: number } {
  const counter = { frames: 0 }
  pc.onTrack.subscribe((track) => {
    if (track.kind !== 'video') return
    let last: number | null = null
    track.onReceiveRtp.subscribe((packet) => {
      if (packet.header.timestamp === last) return
      last = packet.header.timestamp
      counter.frames++
    })
  })
  return counter
}

/**
 * Video frames the publisher really sent (its 30 fps timer runs late on a starved box): counted
 * at its transport's sendRtp, distinct timestamps of the video payload type (audio shares the
 * bundled transport). `count()` (re)attaches to the video transceiver's current transport, which
 * bundling may replace when the ANSWER is applied, and returns the frames so far.
 */
class SentFrames {
  frames = 0
  #last: number | null = null
  readonly #patched = new WeakSet<object>()
  constructor(private readonly publisher: SyntheticPublisher) {}

  count(): number {
    const video = this.publisher.pc.getTransceivers().find((t) => t.kind === 'video')
    const transport = video?.dtlsTransport
    if (!video || !transport || this.#patched.has(transport)) return this.frames
    this.#patched.add(transport)
    const send = transport.sendRtp.bind(transport)
    transport.sendRtp = (payload, header) => {
      if (header.payloadType === (video.codecs[0]?.payloadType ?? 96) && header.timestamp !== this.#last) {
        this.#last = header.timestamp
        this.frames++
      }
      return send(payload, header)
    }
    return this.frames
  }
}

interface Viewer { socket: MemberSocket; viewer: SyntheticViewer; frames: { frames: number }; joinSentAt: number }

/** The members this process hosts: at most one publisher, any number of viewers. */
class MemberHost {
  readonly #viewers: Viewer[] = []
  #publisher: { socket: MemberSocket; member: SyntheticPublisher; view: SyntheticViewer; sent: SentFrames } | null = null

  async handle(command: MembersCommand): Promise<unknown> {
    switch (command.cmd) {
      case 'publish':
        await this.#startPublisher(command.url, command.rid)
        return {}
      case 'view':
        await this.#addViewer(command.url, command.rid, command.name)
        return {}
      case 'sample':
        return command.publisher ? this.#publisherSample() : this.#viewersSample()
      case 'close':
        this.close()
        return {}
      default: {
        const never: never = command
        throw new Error(`unknown command ${JSON.stringify(never)}`)
      }
    }
  }

  async #startPublisher(url: string, rid: string): Promise<void> {
    const socket = await MemberSocket.open(url, rid, 'bench-publisher')
    const pending: MemberSignal[] = []
    let member: SyntheticPublisher | null = null
    let view: SyntheticViewer | null = null
    socket.onSfu = (signal) => {
      // Its own receive connection (every member has one) and its send connection share the socket: ANSWER is the send side's.
      if (signal.s === 'ANSWER') return void (member ? member.receive(signal) : pending.push(signal))
      void view?.receive(signal)
    }
    const joined = await socket.join(true).catch((error: unknown) => {
      socket.close()
      throw error
    })
    view = new SyntheticViewer({ send: (signal) => socket.toSfu(signal), address: '127.0.0.1' })
    await view.answer((joined.es as { sdps: { sdp: string } }).sdps.sdp)
    member = await SyntheticPublisher.start({ send: (signal) => socket.toSfu(signal), address: '127.0.0.1' })
    for (const signal of pending.splice(0)) void member.receive(signal)
    this.#publisher = { socket, member, view, sent: new SentFrames(member) }
  }

  async #addViewer(url: string, rid: string, name: string): Promise<void> {
    const socket = await MemberSocket.open(url, rid, name)
    let viewer: SyntheticViewer | null = null
    const early: MemberSignal[] = []
    socket.onSfu = (signal) => void (viewer ? viewer.receive(signal) : early.push(signal))
    const joinSentAt = performance.now()
    const joined = await socket.join(false).catch((error: unknown) => {
      socket.close()
      throw error
    })
    viewer = new SyntheticViewer({ send: (signal) => socket.toSfu(signal), address: '127.0.0.1' })
    const frames = countFrames(viewer.pc)
    this.#viewers.push({ socket, viewer, frames, joinSentAt })
    await viewer.answer((joined.es as { sdps: { sdp: string } }).sdps.sdp)
    for (const signal of early.splice(0)) void viewer.receive(signal)
  }

  #publisherSample(): PublisherSample {
    const member = this.#publisher?.member
    return { at: performance.now(), cpuUs: cpuUs(), packetsSent: member?.packetsSent ?? 0, keyframesSent: member?.keyframesSent ?? 0, framesSent: this.#publisher?.sent.count() ?? 0, connectionState: member?.pc.connectionState ?? 'none' }
  }

  #viewersSample(): { at: number; cpuUs: number; members: MemberSample[] } {
    const members = this.#viewers.map((entry) => ({
      name: entry.socket.ss.userId,
      frames: entry.frames.frames,
      videoPackets: entry.viewer.totalPackets('video'),
      audioPackets: entry.viewer.totalPackets('audio'),
      firstFrameMs: firstFrameMs(entry),
      connectionState: entry.viewer.pc.connectionState,
      slotsNamed: entry.viewer.mapping !== null,
    }))
    return { at: performance.now(), cpuUs: cpuUs(), members }
  }

  close(): void {
    const publisher = this.#publisher
    this.#publisher = null
    publisher?.member.close()
    publisher?.view.close()
    publisher?.socket.close()
    for (const entry of this.#viewers.splice(0)) {
      entry.viewer.close()
      entry.socket.close()
    }
  }
}

/** From the viewer's JOIN sent to its first VP8 keyframe start received, ms. */
function firstFrameMs(entry: Viewer): number | null {
  let first: number | null = null
  for (const slot of entry.viewer.slots.values()) if (slot.kind === 'video' && slot.firstKeyframeAt !== null) first = Math.min(first ?? Infinity, slot.firstKeyframeAt)
  return first === null ? null : first - entry.joinSentAt
}

function cpuUs(): number {
  const cpu = process.cpuUsage()
  return cpu.user + cpu.system
}

const host = new MemberHost()
process.on('disconnect', () => host.close())
serveParent<MembersCommand>(async (command) => {
  try {
    return await host.handle(command)
  } catch (error) {
    // Back to the bench as a value: a throw here would end the process without a word.
    return { error: error instanceof Error ? error.message : String(error) }
  }
})
