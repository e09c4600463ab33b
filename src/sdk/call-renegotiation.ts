import type { SdpValue } from '../protocol/calls'

/** What a renegotiation needs from its call. */
export interface RenegotiationIo {
  sessionId: string
  /** Sends a call message on the session; rejects when the coordinator refuses it. */
  send(msg: Record<string, unknown> & { cmd: string }): Promise<void>
  /** Adds the remote candidates that waited for the new remote description. */
  applyCandidates(): Promise<void>
  /** Whether the call is still the current one (steps of an ended call are skipped). */
  live(): boolean
  /** The ICE servers as of now: TURN credentials from the call's start may have expired. */
  configuration(): RTCConfiguration
}

/**
 * ICE restarts on an ACTIVE session (ours, beside seed 002): the caller sends a new offer
 * with `{cmd:'call', sessionId, offer}` on the session, the callee answers with
 * `{cmd:'accept', sessionId, answer}`. Steps run one after another; while a new remote
 * description is on its way, remote candidates wait (`remotePending`), since a restart's
 * candidates belong to it. A step that fails (the other side was away, the call ended) is
 * not retried here: IceRecovery offers again.
 */
export class Renegotiation {
  /** A remote description is on its way: remote candidates wait for it. */
  remotePending = false
  private chain: Promise<void> = Promise.resolve()

  constructor(private readonly pc: RTCPeerConnection, private readonly io: RenegotiationIo) {}

  /** The caller: a new offer with fresh ICE credentials. */
  restart(): void {
    this.step(async () => {
      this.refreshIceServers()
      const offer = await this.pc.createOffer({ iceRestart: true })
      await this.pc.setLocalDescription(offer)
      this.remotePending = true // the callee's new candidates wait for its answer
      await this.io.send({ cmd: 'call', sessionId: this.io.sessionId, offer: { type: 'offer', sdp: offer.sdp ?? '' } })
    })
  }

  /** The callee: answer the caller's new offer. */
  answer(offer: SdpValue): void {
    this.step(async () => {
      this.refreshIceServers()
      this.remotePending = true
      await this.pc.setRemoteDescription(toDescription(offer, 'offer'))
      this.remotePending = false
      await this.io.applyCandidates()
      const answer = await this.pc.createAnswer()
      await this.pc.setLocalDescription(answer)
      await this.io.send({ cmd: 'accept', sessionId: this.io.sessionId, answer: { type: 'answer', sdp: answer.sdp ?? '' } })
    })
  }

  /** The caller: the callee's answer to our latest offer. */
  answered(answer: SdpValue): void {
    this.step(async () => {
      if (this.pc.signalingState !== 'have-local-offer') return // an answer to an offer since replaced
      await this.pc.setRemoteDescription(toDescription(answer, 'answer'))
      this.remotePending = false
      await this.io.applyCandidates()
    })
  }

  /** A restart gathers anew, so it may as well use credentials that are still valid. */
  private refreshIceServers(): void {
    try {
      this.pc.setConfiguration(this.io.configuration())
    } catch {
      // a configuration the connection cannot switch to (another bundle policy): keep the old one
    }
  }

  private step(run: () => Promise<void>): void {
    this.chain = this.chain
      .then(() => (this.io.live() ? run() : undefined))
      .catch(() => undefined) // the call ended or the other side was away: IceRecovery offers again
  }
}

export function toDescription(sdp: SdpValue, type: 'offer' | 'answer'): RTCSessionDescriptionInit {
  return typeof sdp === 'string' ? { type, sdp } : { type: sdp.type as RTCSdpType, sdp: sdp.sdp }
}
