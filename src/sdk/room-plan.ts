import type { RoomMember, SessionCategory } from '../protocol/room-codes'

/**
 * Who sends media to whom in a room's mesh (design: one sendonly peer connection per
 * publisher → member): pure functions of the publisher list, so that every member, from
 * the same list, opens and closes the same connections.
 */

/** One of our room sessions, as the plan sees it. */
export interface PlanSelf {
  sessionId: string
  category: SessionCategory
  /** We may publish (admin, publisher) and have media to send. */
  sending: boolean
}

export interface LinkPlan {
  /** Members our session sends to (we publish): everyone but screen-share sessions and our own sessions. */
  sendTo: string[]
  /** Publishers our session receives from: none for a screen-share session, else every other publisher. */
  receiveFrom: string[]
}

/**
 * `own`: every session this page holds in any room (all RoomClients on one RTM) — we never
 * connect to ourselves; a screen share is shown from its local stream.
 */
export function planLinks(members: readonly RoomMember[], self: PlanSelf, own: ReadonlySet<string>): LinkPlan {
  const others = members.filter((member) => member.sessionId !== self.sessionId && !own.has(member.sessionId))
  return {
    sendTo: self.sending ? others.filter((member) => member.category !== 'screenshare').map((member) => member.sessionId) : [],
    receiveFrom: self.category === 'screenshare' ? [] : others.filter((member) => member.publish).map((member) => member.sessionId),
  }
}

/** What to open and close to go from the connections we have to the ones planned. */
export function diffLinks(have: Iterable<string>, want: readonly string[]): { open: string[]; close: string[] } {
  const current = new Set(have)
  const wanted = new Set(want)
  return {
    open: want.filter((sessionId) => !current.has(sessionId)),
    close: [...current].filter((sessionId) => !wanted.has(sessionId)),
  }
}

/**
 * The session id of an SDP's origin line (`o=<user> <sess-id> <sess-version> …`, RFC 8866
 * §5.2): the same for every offer of one RTCPeerConnection (its ICE restarts), new for a new
 * one. A member tells a publisher's restart from a fresh connection (after a reconnect) by it.
 */
export function sdpSessionId(sdp: string): string | null {
  return /^o=\S+ (\S+) /m.exec(sdp)?.[1] ?? null
}

/** Whether an offer belongs to the connection whose offers had `origin`: unknown origins (no o= line) count as the same. */
export function sameConnection(origin: string | null, offerSdp: string): boolean {
  const next = sdpSessionId(offerSdp)
  return origin === null || next === null || origin === next
}
