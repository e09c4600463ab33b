import { SessionState, type CallErrorName, type CallServerMessage, type SessionStateValue } from '../protocol/calls'
import type { ConnId, Effects } from './effects'

/** The call timers of the engine config (time comes in through `tick(now)`). */
export interface CallTimings {
  /** An ACTIVE session waits this long for a party whose link dropped, and a lone claim for its mirror. */
  graceMs: number
  /** A PENDING session unanswered this long is closed for both as `no-answer`. */
  ringTimeoutMs: number
}

/**
 * Who a call connection is, as its host knows it: the app of its login (native `call` op)
 * or of its upgrade (`/ws/calls?appId=`), and its user — logged in, or named by a verified
 * token — or null for an anonymous /ws/calls client (open mode only).
 */
export interface CallIdentity {
  appId: string
  userId: string | null
}

/** What the host hands in with each call frame: ids come from outside, the engine has no randomness. */
export interface CallContext {
  /** A fresh unique id: an anonymous client's sId when it asks for none, a new session's id, or a squatter's new sId. */
  newId: string
  /** The connection's user (its sId is this userId), or null when anonymous. */
  userId: string | null
  /** Whether `sId` is the userId of a user of this app now (anonymous clients may not take it). */
  isUser?: (sId: string) => boolean
}

export interface CallFailure {
  name: CallErrorName
  msg: Extract<CallServerMessage, { cmd: 'error' }>
}

/** A connection of the call registry (engine/calls.ts), or an away party still held by its session. */
export interface CallClient {
  conn: ConnId
  sId: string
  /** Its identity's user: then sId === userId. null: anonymous. */
  userId: string | null
  /** When it was last sent a `clu` (−∞: never). */
  cluSentAt: number
  /** The one session this client may have NEW as its creator (a new `session` replaces it). */
  created: CallSession | null
  /** The PENDING or ACTIVE session this client is a party of. */
  open: CallSession | null
  /**
   * When its link dropped during an ACTIVE call: it is then *away* — out of the registry,
   * sent nothing, kept only as its session's party until it claims the session back from a
   * new connection or the grace period ends. null while connected.
   */
  awaySince: number | null
}

export interface CallSession {
  id: string
  caller: CallClient
  callee: CallClient
  state: SessionStateValue
  /** When it started ringing (PENDING), for the ring timeout. */
  ringingSince: number
  /** ACTIVE: the party whose renegotiation offer (an ICE restart) waits for the other's `accept`. */
  offerFrom: CallClient | null
}

export type Outcome = CallErrorName | { name: CallErrorName; detail: string } | null
/** Delivers call messages of one input; several recipients share one encoded event. */
export type Send = (to: CallClient | ConnId | CallClient[], msg: CallServerMessage) => void

export function sender(fx: Effects, now: number): Send {
  return (to, msg) => {
    const clients = typeof to === 'string' ? [] : Array.isArray(to) ? to : [to]
    // An away party's old connection is gone: what it misses, a claim replays (Endings) or the SDK redoes.
    const conns = typeof to === 'string' ? [to] : clients.filter((client) => client.awaySince === null).map((client) => client.conn)
    fx.send(conns, { kind: 'call', msg, timestamp: now })
  }
}

/** In an ACTIVE call: CALLING in the list, and no list updates until it ends (seed 002). */
export function inCall(client: CallClient): boolean {
  return client.open?.state === SessionState.ACTIVE
}

export function parties(session: CallSession): [CallClient, CallClient] {
  return [session.caller, session.callee]
}

export function otherParty(session: CallSession, party: CallClient): CallClient {
  return session.caller === party ? session.callee : session.caller
}
