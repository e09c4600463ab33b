import { IceRecovery } from './ice-recovery'
import { Renegotiation, toDescription, type Description, type SdpText } from './renegotiation'
import { watchSelectedPair, type SelectedPair } from './selected-pair'
import { StatsMonitor, type StatsMonitorOptions } from './stats/monitor'

/** Seed 001 "ConnectionState" (the media path), from RTCPeerConnection.connectionState. */
export type ConnectionState = 'new' | 'connecting' | 'connected' | 'failed' | 'disconnected' | 'reconnecting' | 'not_support' | 'limit_exceeded'

export function toConnectionState(state: RTCPeerConnectionState): ConnectionState {
  return state === 'closed' ? 'disconnected' : state
}

/** An ICE candidate as the signaling carries it: the candidate line, or RTCIceCandidateInit's fields. */
export type CandidateValue = string | {
  candidate: string
  sdpMid?: string | null
  sdpMLineIndex?: number | null
  usernameFragment?: string | null
}

/** A local candidate as it is sent: every field present. */
export interface LocalCandidate {
  candidate: string
  sdpMid: string | null
  sdpMLineIndex: number | null
  usernameFragment: string | null
}

/** How the link's descriptions and candidates reach the other side (a call's messages, a room's signals). */
export interface PeerLinkSignaling {
  offer(description: Description): Promise<void>
  answer(description: Description): Promise<void>
  candidate(candidate: LocalCandidate): Promise<void>
}

/** What the owner hears from its link; all optional, none called once the link is closed. */
export interface PeerLinkHooks {
  localCandidate?(candidate: LocalCandidate): void
  /** A remote track arrived, with the stream the other side named for it. */
  track?(stream: MediaStream, track: MediaStreamTrack): void
  connectionState?(state: RTCPeerConnectionState): void
  signalingState?(state: RTCSignalingState): void
  /** The candidate pair the media flows over, on connect and whenever ICE switches. */
  selectedPair?(pair: SelectedPair): void
  /** The media path went into trouble or came back (`link.troubled`). */
  troubleChanged?(): void
  /** The media path stayed in trouble for `graceMs` despite ICE restarts. */
  giveUp?(): void
  /** The connection failed while `recovers()` said no: nothing will restart it. */
  failed?(): void
}

export interface PeerLinkOptions {
  /** The RTCConfiguration now (`rtm.ice.configuration(options)`): read at creation and again at each ICE restart. */
  configuration(): RTCConfiguration
  signaling: PeerLinkSignaling
  hooks?: PeerLinkHooks
  /** Whether this end restarts ICE when the path drops (the other end answers those offers). */
  offerer: boolean
  /** How long the path may stay down before `giveUp`. */
  graceMs: number
  /** Whether remote candidates may be added now, once a remote description is set (a ringing callee: not before it answers). Default yes. */
  acceptsRemoteCandidates?(): boolean
  /** Whether a dropped path is recovered (ICE restarts) or, when `failed`, reported as `failed`. Default: recovered. */
  recovers?(): boolean
  /** Seed 001's stats of this connection, read while it is connected (`link.stats`). */
  stats?: StatsMonitorOptions
}

/**
 * One RTCPeerConnection for one signaling relationship (a call, a room's publisher →
 * member connection), with what every such connection needs: the ICE servers from
 * `rtm.ice`, local candidates held in an outbox until the owner's first description is out
 * (`sendCandidates`), remote candidates held in an inbox until a remote description is set
 * (and the owner accepts them), ICE restarts on the same connection (Renegotiation) when
 * the path drops (IceRecovery), the selected candidate pair, and remote tracks. The owner
 * does the signaling: descriptions and candidates go out through `signaling`, and come in
 * through `prepareAnswer`/`setAnswer`/`remoteOffer`/`remoteAnswer`/`addRemoteCandidate`.
 *
 * @example
 * const link = new PeerLink({ configuration: () => rtm.ice.configuration(), signaling, offerer: true, graceMs: 30_000 })
 * for (const track of stream.getTracks()) link.pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] })
 * await link.offer()
 */
export class PeerLink {
  readonly pc: RTCPeerConnection
  /** The connection's stats and their recent history, when the owner asked for them. */
  readonly stats: StatsMonitor | null
  private readonly renegotiation: Renegotiation
  private readonly recovery: IceRecovery
  private readonly outbox: LocalCandidate[] = []
  private readonly inbox: CandidateValue[] = []
  /** Our first description is out: local candidates go at once. */
  private signalled = false
  private closed = false
  private readonly stopWatchingPair: () => void

  constructor(private readonly options: PeerLinkOptions) {
    const pc = new RTCPeerConnection(options.configuration())
    this.pc = pc
    this.stats = options.stats ? new StatsMonitor(pc, options.stats) : null
    const hooks = options.hooks ?? {}
    this.stopWatchingPair = watchSelectedPair(pc, (pair) => { if (!this.closed) hooks.selectedPair?.(pair) })
    pc.onicecandidate = ({ candidate }) => {
      if (this.closed || !candidate) return
      const init = candidate.toJSON()
      const local: LocalCandidate = { candidate: init.candidate ?? '', sdpMid: init.sdpMid ?? null, sdpMLineIndex: init.sdpMLineIndex ?? null, usernameFragment: init.usernameFragment ?? null }
      hooks.localCandidate?.(local)
      this.outbox.push(local)
      if (this.signalled) this.sendCandidates()
    }
    pc.ontrack = ({ streams, track }) => {
      if (!this.closed) hooks.track?.(streams[0] ?? new MediaStream([track]), track)
    }
    this.renegotiation = new Renegotiation(pc, {
      offer: (description) => this.send(() => options.signaling.offer(description)),
      answer: (description) => this.send(() => options.signaling.answer(description)),
      applyCandidates: () => this.applyRemoteCandidates(),
      live: () => !this.closed,
      configuration: () => options.configuration(),
    })
    this.recovery = new IceRecovery({
      restart: () => this.renegotiation.restart(),
      giveUp: () => { if (!this.closed) hooks.giveUp?.() },
      changed: () => { if (!this.closed) hooks.troubleChanged?.() },
    }, { offerer: options.offerer, graceMs: options.graceMs })
    pc.onconnectionstatechange = () => {
      if (this.closed) return
      hooks.connectionState?.(pc.connectionState)
      // A media path that drops is recovered (ICE restart), not given up, while the owner says so.
      if (options.recovers?.() ?? true) this.recovery.update(pc.connectionState)
      else if (pc.connectionState === 'failed') hooks.failed?.()
    }
    pc.onsignalingstatechange = () => {
      if (!this.closed) hooks.signalingState?.(pc.signalingState)
    }
  }

  /** Whether the media path is down (disconnected or failed) and not back yet. */
  get troubled(): boolean {
    return this.recovery.troubled
  }

  get isClosed(): boolean {
    return this.closed
  }

  /**
   * The offerer's first offer: made, set, sent through `signaling.offer`, then the held
   * local candidates follow. Rejects when the signaling refuses it; does nothing more once
   * the link was closed meanwhile.
   */
  async offer(): Promise<void> {
    const offer = await this.pc.createOffer()
    await this.pc.setLocalDescription(offer)
    if (this.closed) return
    await this.send(() => this.options.signaling.offer({ type: 'offer', sdp: offer.sdp ?? '' }))
  }

  /** The answerer's side up to its answer, not sent: the other's offer set, our answer made and set (ICE gathers meanwhile). */
  async prepareAnswer(offer: SdpText): Promise<RTCSessionDescriptionInit> {
    await this.pc.setRemoteDescription(toDescription(offer, 'offer'))
    const answer = await this.pc.createAnswer()
    await this.pc.setLocalDescription(answer)
    return answer
  }

  /** Sends an answer made by `prepareAnswer`, then the held local candidates. */
  async sendAnswer(answer: RTCSessionDescriptionInit): Promise<void> {
    await this.send(() => this.options.signaling.answer({ type: 'answer', sdp: answer.sdp ?? '' }))
  }

  /** The offerer: the answer to our first offer. Rejects when it cannot be set. */
  async setAnswer(answer: SdpText): Promise<void> {
    await this.pc.setRemoteDescription(toDescription(answer, 'answer'))
    await this.applyRemoteCandidates()
  }

  /** An offer from the other side (its first, or an ICE restart): answered in turn, after the steps before it. */
  remoteOffer(offer: SdpText): void {
    this.renegotiation.answer(offer)
  }

  /** The answer to our latest offer (first or restart), in turn; ignored if that offer was replaced. */
  remoteAnswer(answer: SdpText): void {
    this.renegotiation.answered(answer)
  }

  /** An ICE restart offer now (the offerer). */
  restart(): void {
    this.renegotiation.restart()
  }

  /** A candidate from the other side: added once the remote description is set (and the owner accepts them), held until then. */
  addRemoteCandidate(candidate: CandidateValue): void {
    this.inbox.push(candidate)
    const accepts = this.options.acceptsRemoteCandidates?.() ?? true
    if (this.pc.remoteDescription && !this.renegotiation.remotePending && accepts) void this.applyRemoteCandidates()
  }

  /** Adds the held remote candidates now. */
  async applyRemoteCandidates(): Promise<void> {
    for (const candidate of this.inbox.splice(0)) {
      const init = typeof candidate === 'string' ? { candidate, sdpMid: '0', sdpMLineIndex: 0 } : candidate
      await this.pc.addIceCandidate(init).catch(() => undefined) // a bad candidate only loses that path
    }
  }

  /** Our description is out: the held local candidates go now, later ones at once. */
  sendCandidates(): void {
    this.signalled = true
    for (const candidate of this.outbox.splice(0)) {
      void this.options.signaling.candidate(candidate).catch(() => undefined) // the relationship may have ended meanwhile
    }
  }

  /** The signaling cannot carry offers now (our session is being re-bound). */
  paused(): void {
    this.recovery.paused()
  }

  /** The signaling is back: a troubled path restarts now. */
  resumed(): void {
    this.recovery.resumed()
  }

  /** Stops everything: timers, the pair watch and the connection. No hook is called after. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.recovery.destroy()
    this.stopWatchingPair()
    this.stats?.close()
    this.pc.close()
  }

  private async send(signal: () => Promise<void>): Promise<void> {
    await signal()
    this.sendCandidates()
  }
}
