/** An SDP as the signaling carries it: the bare SDP text, or the description object. */
export type SdpText = string | { type: string; sdp: string }

/** A description ready to send: `{ type, sdp }`. */
export interface Description {
  type: 'offer' | 'answer'
  sdp: string
}

/** What a renegotiation needs from the owner of its peer connection. */
export interface RenegotiationIo {
  /** Sends our offer to the other side; rejects when the signaling refuses it. */
  offer(description: Description): Promise<void>
  /** Sends our answer to the other side; rejects when the signaling refuses it. */
  answer(description: Description): Promise<void>
  /** Adds the remote candidates that waited for the new remote description. */
  applyCandidates(): Promise<void>
  /** Whether the connection is still in use (steps of a closed one are skipped). */
  live(): boolean
  /** The ICE servers as of now: TURN credentials from the connection's start may have expired. */
  configuration(): RTCConfiguration
}

/**
 * Offers and answers on one peer connection, one step after another: ICE restarts (the
 * offerer sends a new offer with fresh ICE credentials, the answerer answers it) and, for
 * a connection whose every offer comes this way (a room's), its first one. While a new
 * remote description is on its way, remote candidates wait (`remotePending`), since a
 * restart's candidates belong to it. A step that fails (the other side was away, the
 * connection closed) is not retried here: IceRecovery offers again.
 */
export class Renegotiation {
  /** A remote description is on its way: remote candidates wait for it. */
  remotePending = false
  private chain: Promise<void> = Promise.resolve()

  constructor(private readonly pc: RTCPeerConnection, private readonly io: RenegotiationIo) {}

  /** The offerer: a new offer with fresh ICE credentials. */
  restart(): void {
    void this.step(async () => {
      this.refreshIceServers()
      const offer = await this.pc.createOffer({ iceRestart: true })
      await this.pc.setLocalDescription(offer)
      this.remotePending = true // the answerer's new candidates wait for its answer
      await this.io.offer({ type: 'offer', sdp: offer.sdp ?? '' })
    }).catch(() => undefined) // the other side was away or the connection closed: IceRecovery offers again
  }

  /** The answerer: answer the other side's (new) offer. */
  answer(offer: SdpText): void {
    void this.step(async () => {
      this.refreshIceServers()
      this.remotePending = true
      await this.pc.setRemoteDescription(toDescription(offer, 'offer'))
      this.remotePending = false
      await this.io.applyCandidates()
      const answer = await this.pc.createAnswer()
      await this.pc.setLocalDescription(answer)
      await this.io.answer({ type: 'answer', sdp: answer.sdp ?? '' })
    }).catch(() => undefined) // the offerer will offer again
  }

  /** The offerer: the other side's answer to our latest offer. */
  answered(answer: SdpText): void {
    void this.step(async () => {
      if (this.pc.signalingState !== 'have-local-offer') return // an answer to an offer since replaced
      await this.pc.setRemoteDescription(toDescription(answer, 'answer'))
      this.remotePending = false
      await this.io.applyCandidates()
    }).catch(() => undefined) // a bad answer: the next restart offers again
  }

  /** A restart gathers anew, so it may as well use credentials that are still valid. */
  private refreshIceServers(): void {
    try {
      this.pc.setConfiguration(this.io.configuration())
    } catch {
      // a configuration the connection cannot switch to (another bundle policy): keep the old one
    }
  }

  /** Runs `run` after the steps before it (whatever their outcome), unless the connection closed meanwhile. */
  private step(run: () => Promise<void>): Promise<void> {
    const result = this.chain.then(() => (this.io.live() ? run() : undefined))
    this.chain = result.catch(() => undefined)
    return result
  }
}

export function toDescription(sdp: SdpText, type: 'offer' | 'answer'): RTCSessionDescriptionInit {
  return typeof sdp === 'string' ? { type, sdp } : { type: sdp.type as RTCSdpType, sdp: sdp.sdp }
}
