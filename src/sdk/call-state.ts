import type { IceCandidateValue, SdpValue } from '../protocol/calls'
import type { CallInfo } from './calls'
import type { PeerLink } from './media/peer-link'

/** Media and peer connection of the one call in progress. */
export interface Call extends CallInfo {
  /** The peer connection (candidates held until our call/accept is out, ICE restarts on the session), once it exists. */
  link: PeerLink | null
  /** Remote candidates that came before the peer connection (the callee's camera still opening): its inbox takes them. */
  early: IceCandidateValue[]
  local: MediaStream | null
  offer: SdpValue | null
  /** We (the callee) sent our accept: the call may be ACTIVE on the coordinator before we hear it. */
  answered: boolean
  /** The callee's answer, made while it rings (camera, connection, ICE gathering), sent on accept. */
  prepared: Promise<RTCSessionDescriptionInit> | null
  /** Our link dropped and the coordinator has not confirmed the call is ours again (`ssu` after our claim). */
  rebinding: { giveUp: ReturnType<typeof setTimeout> } | null
}

/** A `call()` whose session is not created yet: an incoming call meanwhile wins (glare). */
export interface Dial {
  peer: string
  /** Set when it lost (busy): the CLOSED info already reported. */
  lost: CallInfo | null
}

/** The call exists on the coordinator as ACTIVE (or will, our accept being out): it outlives a dropped link. */
export function established(call: Call): boolean {
  return call.state === 'ACTIVE' || call.answered
}

export function isReconnecting(call: Call): boolean {
  return call.rebinding !== null || (call.link?.troubled ?? false)
}

export function publicInfo(call: CallInfo): CallInfo {
  const { sessionId, peer, direction, state, startedAt, endReason, reconnecting } = call
  return { sessionId, peer, direction, state, startedAt, endReason, reconnecting }
}

