import type { RoomMember, RoomSession, SessionCategory } from '../protocol/room-codes'
import type { Description } from './media/renegotiation'
import { PeerLink, toConnectionState, type CandidateValue, type ConnectionState, type LocalCandidate } from './media/peer-link'
import { diffLinks, sameConnection, sdpSessionId, type LinkPlan } from './room-plan'
import type { StatsSample } from './media/stats/types'

/** A media path down this long despite ICE restarts: the publisher starts a new connection to that member. */
export const ROOM_MEDIA_GRACE_MS = 30_000

/** A room's peer signals as this module sends them; the RoomClient puts them in `{action, data}`. */
export type PeerSignal =
  | { action: 'offer'; sdp: Description }
  | { action: 'answer'; sdp: Description }
  | { action: 'candidate'; side: 'publisher' | 'subscriber'; candidate: LocalCandidate }
  | { action: 'notify'; type: string; data: unknown }

export interface RoomMediaIo {
  configuration(): RTCConfiguration
  /** ms between two stats readings of a receiving link. */
  statsIntervalMs: number
  /** Sends a peer signal to one session of the room; rejects with the error ack. */
  signal(to: { sessionId: string; userId: string }, signal: PeerSignal): Promise<void>
  /** The member as the latest list has it. */
  member(sessionId: string): RoomMember | undefined
  remoteStream(event: { sessionId: string; userId: string; category: SessionCategory; stream: MediaStream | null }): void
  connectionState(event: { sessionId: string; state: ConnectionState; direction: 'send' | 'receive' }): void
  /** A peer signal of ours was refused (not a member any more, the room is gone…). */
  failed(error: unknown): void
  /** Seed 001's stats of the media a publisher sends us. */
  stats(sample: StatsSample): void
}

/**
 * A publisher's send connection to `to` (a member in a mesh, the SFU in an SFU room): every
 * track of `local` sendonly, video with `sendEncodings` when given (simulcast). It offers; on
 * failure `owner.reopen()` replaces it (ICE restarts did not bring it back: a new offer, whose
 * SDP origin tells the other end). Shared by both room engines.
 */
export function openSendLink(
  io: RoomMediaIo, to: { sessionId: string; userId: string }, local: MediaStream,
  owner: { isCurrent(link: PeerLink): boolean; reopen(): void },
  sendEncodings?: RTCRtpEncodingParameters[],
): PeerLink {
  const link: PeerLink = new PeerLink({
    configuration: () => io.configuration(),
    signaling: {
      offer: (sdp) => io.signal(to, { action: 'offer', sdp }),
      answer: () => Promise.reject(new Error('a publisher never answers')),
      candidate: (candidate) => io.signal(to, { action: 'candidate', side: 'publisher', candidate }),
    },
    offerer: true,
    graceMs: ROOM_MEDIA_GRACE_MS,
    // Our send side, for the member's diagnosis; a send-only link has no inbound stats to report.
    stats: { intervalMs: io.statsIntervalMs, source: to.userId, sessionId: to.sessionId },
    hooks: {
      connectionState: (rtc) => io.connectionState({ sessionId: to.sessionId, state: toConnectionState(rtc), direction: 'send' }),
      giveUp: () => { if (owner.isCurrent(link)) owner.reopen() },
    },
  })
  for (const track of local.getTracks()) {
    const encodings = track.kind === 'video' && sendEncodings ? { sendEncodings } : {}
    link.pc.addTransceiver(track, { direction: 'sendonly', streams: [local], ...encodings })
  }
  link.offer().catch((error: unknown) => {
    if (owner.isCurrent(link)) io.failed(error)
  })
  return link
}

/** Closes a send connection and says so. */
export function closeSendLink(io: RoomMediaIo, sessionId: string, link: PeerLink): void {
  link.close()
  io.connectionState({ sessionId, state: 'disconnected', direction: 'send' })
}

interface Receiving {
  link: PeerLink
  /** The publisher's session, as the signaling recorded it. */
  from: RoomSession
  /** The SDP origin session of the publisher's connection: a new one replaces this link. */
  origin: string | null
}

/**
 * A room session's peer connections (design "Media"): one sendonly PeerLink to each member
 * while we publish (keyed by the member's sessionId), one receiving PeerLink per publisher
 * that offers to us (keyed by the publisher's sessionId), and the remote stream each brings.
 * The publisher offers, and re-offers on the same connection to restart ICE; the member
 * answers. Which links exist follows the plan (room-plan.ts) made from the publisher list.
 */
export class RoomMedia {
  /** What we send: set before links to members open. */
  local: MediaStream | null = null
  readonly remoteStreams = new Map<string, MediaStream>()
  private readonly sending = new Map<string, PeerLink>()
  private readonly receiving = new Map<string, Receiving>()

  constructor(private readonly io: RoomMediaIo) {}

  /** Opens the links the plan adds and closes the ones it drops. */
  apply(plan: LinkPlan): void {
    const send = diffLinks(this.sending.keys(), this.local ? plan.sendTo : [])
    for (const sessionId of send.close) this.closeSending(sessionId)
    for (const sessionId of send.open) this.openSending(sessionId)
    // Receiving links open when a publisher offers; those of members no longer publishing to us close.
    for (const sessionId of diffLinks(this.receiving.keys(), plan.receiveFrom).close) this.closeReceiving(sessionId)
  }

  /** After our session was joined again: every member gets a new offer from a new connection. */
  restartSending(plan: LinkPlan): void {
    for (const sessionId of [...this.sending.keys()]) this.closeSending(sessionId)
    this.apply(plan)
  }

  /** A publisher's OFFER: its first, an ICE restart (same connection), or a new connection replacing the old. */
  offer(from: RoomSession, sdp: string | { type: string; sdp: string }): void {
    const text = typeof sdp === 'string' ? sdp : sdp.sdp
    let entry = this.receiving.get(from.sessionId)
    if (entry && !sameConnection(entry.origin, text)) {
      this.closeReceiving(from.sessionId)
      entry = undefined
    }
    entry ??= this.openReceiving(from)
    entry.origin ??= sdpSessionId(text)
    entry.link.remoteOffer(sdp)
  }

  /** A member's ANSWER to our latest offer on the link to it. */
  answer(from: RoomSession, sdp: string | { type: string; sdp: string }): void {
    this.sending.get(from.sessionId)?.remoteAnswer(sdp)
  }

  /** A candidate from the publisher's end (for our receiving link) or the subscriber's end (for our sending link). */
  candidate(from: RoomSession, side: 'publisher' | 'subscriber', candidate: CandidateValue): void {
    if (side === 'subscriber') return this.sending.get(from.sessionId)?.addRemoteCandidate(candidate)
    // Before its OFFER only if signals crossed; the link it will use is made now and keeps it.
    const entry = this.receiving.get(from.sessionId) ?? this.openReceiving(from)
    entry.link.addRemoteCandidate(candidate)
  }

  /** Our connection sending to a member's session, if we send to it. */
  sendingTo(sessionId: string): PeerLink | null {
    return this.sending.get(sessionId) ?? null
  }

  /** Our connection receiving a publisher's session, if it sends to us. */
  receivingFrom(sessionId: string): PeerLink | null {
    return this.receiving.get(sessionId)?.link ?? null
  }

  /** The publishers' sessions whose media we receive. */
  get publishers(): string[] {
    return [...this.receiving.keys()]
  }

  /** Every link closed and every remote stream gone (we left, were kicked, or stopped publishing and receiving). */
  closeAll(): void {
    for (const sessionId of [...this.sending.keys()]) this.closeSending(sessionId)
    for (const sessionId of [...this.receiving.keys()]) this.closeReceiving(sessionId)
  }

  /** Our signaling is down: ICE restart offers would only queue up for connections our rejoin replaces. */
  pause(): void {
    for (const link of this.sending.values()) link.paused()
  }

  /** Stops sending (no longer a publisher): the links to members close. */
  stopSending(): void {
    for (const sessionId of [...this.sending.keys()]) this.closeSending(sessionId)
  }

  private openSending(sessionId: string): void {
    const local = this.local
    const member = this.io.member(sessionId)
    if (!local || !member) return
    const link = openSendLink(this.io, { sessionId, userId: member.userId }, local, {
      isCurrent: (current) => this.sending.get(sessionId) === current,
      reopen: () => {
        this.closeSending(sessionId)
        this.openSending(sessionId)
      },
    })
    this.sending.set(sessionId, link)
  }

  private openReceiving(from: RoomSession): Receiving {
    const sessionId = from.sessionId
    const to = { sessionId, userId: from.userId }
    const link = new PeerLink({
      configuration: () => this.io.configuration(),
      signaling: {
        offer: () => Promise.reject(new Error('a member never offers')),
        answer: (sdp) => this.io.signal(to, { action: 'answer', sdp }),
        candidate: (candidate) => this.io.signal(to, { action: 'candidate', side: 'subscriber', candidate }),
      },
      // The publisher restarts ICE and, past the grace, opens a new connection: this end answers.
      offerer: false,
      graceMs: ROOM_MEDIA_GRACE_MS,
      stats: { intervalMs: this.io.statsIntervalMs, source: from.userId, sessionId, sample: (sample) => this.io.stats(sample) },
      hooks: {
        connectionState: (rtc) => this.io.connectionState({ sessionId, state: toConnectionState(rtc), direction: 'receive' }),
        track: (stream) => {
          this.remoteStreams.set(sessionId, stream)
          const member = this.io.member(sessionId)
          this.io.remoteStream({ sessionId, userId: member?.userId ?? from.userId, category: member?.category ?? from.category, stream })
        },
      },
    })
    const entry: Receiving = { link, from, origin: null }
    this.receiving.set(sessionId, entry)
    return entry
  }

  private closeSending(sessionId: string): void {
    const link = this.sending.get(sessionId)
    if (!link) return
    this.sending.delete(sessionId)
    closeSendLink(this.io, sessionId, link)
  }

  private closeReceiving(sessionId: string): void {
    const entry = this.receiving.get(sessionId)
    if (!entry) return
    this.receiving.delete(sessionId)
    entry.link.close()
    this.io.connectionState({ sessionId, state: 'disconnected', direction: 'receive' })
    if (this.remoteStreams.delete(sessionId)) {
      this.io.remoteStream({ sessionId, userId: entry.from.userId, category: entry.from.category, stream: null })
    }
  }
}
