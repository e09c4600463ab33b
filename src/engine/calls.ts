import {
  DEFAULT_CALL_GRACE_MS, DEFAULT_RING_TIMEOUT_MS, SessionState, callError,
  type CallClientMessage, type CallErrorName, type CallServerMessage, type ParsedCallMessage,
} from '../protocol/calls'
import { ClientList } from './call-list'
import { otherParty, parties, sender, type CallClient, type CallContext, type CallFailure, type CallSession, type CallTimings, type Outcome, type Send } from './call-model'
import { CallRecovery } from './call-recovery'
import type { Effects, ConnId } from './effects'

export { CLU_INTERVAL_MS } from './call-list'

export type { CallContext, CallFailure, CallIdentity, CallTimings } from './call-model'

export const DEFAULT_CALL_TIMINGS: CallTimings = { graceMs: DEFAULT_CALL_GRACE_MS, ringTimeoutMs: DEFAULT_RING_TIMEOUT_MS }

/**
 * Seed 002's call protocol as a pure state machine: an sId registry, one-to-one sessions
 * (NEW → PENDING → ACTIVE → CLOSED) and the client list (`clu`). One registry per app,
 * shared by every transport of that app (native `call` op, raw /ws/calls).
 *
 * Ours on top (issue 12): an ACTIVE call survives a party's dropped link for `graceMs`
 * (`claim` takes it back, or recreates it on a restarted coordinator); a party may
 * renegotiate an ACTIVE session with `call`/`accept` (ICE restart); a PENDING session rings
 * out after `ringTimeoutMs`; the first `call` to ring wins a glare.
 */
export class Calls {
  private readonly byConn = new Map<ConnId, CallClient>()
  private readonly bySId = new Map<string, CallClient>()
  private readonly sessions = new Map<string, CallSession>()
  private readonly clients = new ClientList(() => this.bySId.values())
  /** PENDING sessions, for the ring timeout. */
  private readonly ringing = new Set<CallSession>()
  private readonly recovery: CallRecovery

  constructor(private readonly timings: CallTimings = DEFAULT_CALL_TIMINGS) {
    this.recovery = new CallRecovery(timings.graceMs)
  }

  /** Handles one frame from `conn`; an error reaches only the sender and changes nothing. Returns it too. */
  handle(conn: ConnId, input: ParsedCallMessage, context: CallContext, fx: Effects, now: number): CallFailure | null {
    const send = sender(fx, now)
    const outcome: Outcome = input.ok ? this.dispatch(conn, input.msg, context, send, now) : { name: 'MALFORMED_FRAME', detail: input.reason }
    if (outcome === null) return null
    const name = typeof outcome === 'string' ? outcome : outcome.name
    const msg = typeof outcome === 'string' ? callError(outcome) : callError(outcome.name, outcome.detail)
    send(conn, msg)
    return { name, msg }
  }

  /**
   * The connection went away and its sId is freed. Its ACTIVE call waits `graceMs` for a
   * `claim` from its next connection (`leave` to the other party only then); anything else
   * ends now (`leave` for the other party). `gone` (a logout): the ACTIVE call ends now too.
   */
  disconnect(conn: ConnId, fx: Effects, now: number, gone = false): void {
    const client = this.byConn.get(conn)
    if (!client) return
    const send = sender(fx, now)
    if (gone) this.unregister(client, send, now)
    else this.goAway(client, send, now)
    this.clients.changed(send, now)
  }

  /** Rings out unanswered calls, ends calls whose away party did not come back, expires lone claims, sends held lists. */
  tick(fx: Effects, now: number): void {
    const send = sender(fx, now)
    for (const session of [...this.ringing]) {
      if (now - session.ringingSince < this.timings.ringTimeoutMs) continue
      const stopped: CallServerMessage[] = [
        { cmd: 'stop', sessionId: session.id, reason: 'no-answer' },
        { cmd: 'ssu', sessionId: session.id, state: SessionState.CLOSED, reason: 'no-answer' },
      ]
      this.finish(session, () => stopped, send, now)
    }
    const expired = this.recovery.expire(now)
    for (const session of expired.sessions) {
      this.finish(session, () => [{ cmd: 'leave', sessionId: session.id }, { cmd: 'ssu', sessionId: session.id, state: SessionState.CLOSED }], send, now)
    }
    for (const { claimant, sessionId } of expired.claims) {
      send(claimant, { cmd: 'leave', sessionId })
      send(claimant, { cmd: 'ssu', sessionId, state: SessionState.CLOSED })
    }
    this.clients.flush(send, now)
  }

  /** No clients, sessions, claims or endings to tell: the registry can be dropped. */
  get isEmpty(): boolean {
    return this.byConn.size === 0 && this.sessions.size === 0 && this.recovery.isEmpty
  }

  /** sIds and states, in registration order (what `clu` carries). */
  list(): { sId: string; state: 1 | 2 }[] {
    return this.clients.list()
  }

  get sessionCount(): number {
    return this.sessions.size
  }

  private dispatch(conn: ConnId, msg: CallClientMessage, context: CallContext, send: Send, now: number): Outcome {
    const client = this.byConn.get(conn)
    if (msg.cmd === 'sId') return this.register(conn, client, msg.sId, context, send, now)
    if (!client) return 'NO_SID'
    switch (msg.cmd) {
      case 'session': {
        const opponent = this.opponent(client, msg.opponentId)
        if (typeof opponent === 'string') return opponent
        if (this.busy(client)) return 'BUSY'
        if (this.busy(opponent)) return 'OPPONENT_BUSY'
        // A creator has at most one NEW session: asking for another abandons the first.
        if (client.created) {
          send(client, { cmd: 'ssu', sessionId: client.created.id, state: SessionState.CLOSED })
          this.close(client.created)
        }
        const session: CallSession = { id: context.newId, caller: client, callee: opponent, state: SessionState.NEW, ringingSince: now, offerFrom: null }
        this.sessions.set(session.id, session)
        client.created = session
        send(client, { cmd: 'ssu', sessionId: session.id, state: SessionState.NEW })
        return null
      }
      case 'call': {
        const session = this.sessionFor(client, msg.sessionId)
        if (typeof session === 'string') return session
        if (session.state === SessionState.ACTIVE) return this.renegotiate(session, client, msg.offer, send)
        if (session.caller !== client || session.state !== SessionState.NEW) return { name: 'WRONG_STATE', detail: 'only the creator calls, once, in NEW (or either party again in ACTIVE, to renegotiate)' }
        if (this.busy(client)) return 'BUSY'
        if (this.busy(session.callee)) return 'OPPONENT_BUSY'
        session.state = SessionState.PENDING
        session.ringingSince = now
        this.ringing.add(session)
        client.created = null
        client.open = session
        session.callee.open = session
        // Glare: the callee may have a NEW session of its own (calling us at the same moment): the call that rang first wins.
        if (session.callee.created) {
          send(session.callee, { cmd: 'ssu', sessionId: session.callee.created.id, state: SessionState.CLOSED, reason: 'busy' })
          this.close(session.callee.created)
        }
        send(session.callee, { cmd: 'call', sessionId: session.id, offer: msg.offer, sId: client.sId })
        this.sendState(session, send)
        return null
      }
      case 'accept': {
        const session = this.sessionFor(client, msg.sessionId)
        if (typeof session === 'string') return session
        if (session.state === SessionState.ACTIVE && session.offerFrom !== null && session.offerFrom !== client) {
          // The answer to a renegotiation offer (ICE restart).
          send(session.offerFrom, { cmd: 'accept', sessionId: session.id, answer: msg.answer })
          session.offerFrom = null
          return null
        }
        if (session.callee !== client || session.state !== SessionState.PENDING) return { name: 'WRONG_STATE', detail: 'only the callee accepts, in PENDING (or the party answering a renegotiation offer, in ACTIVE)' }
        session.state = SessionState.ACTIVE
        this.ringing.delete(session)
        send(session.caller, { cmd: 'accept', sessionId: session.id, answer: msg.answer })
        this.sendState(session, send)
        this.clients.changed(send, now)
        return null
      }
      case 'reject': {
        const session = this.sessionFor(client, msg.sessionId)
        if (typeof session === 'string') return session
        if (session.callee !== client || session.state !== SessionState.PENDING) return { name: 'WRONG_STATE', detail: 'only the callee rejects, in PENDING' }
        return this.end(session, client, 'reject', send, now)
      }
      case 'stop': {
        const session = this.sessionFor(client, msg.sessionId)
        if (typeof session === 'string') return session
        if (session.state === SessionState.NEW) {
          // Only the creator knows a NEW session (sessionFor hides it from the callee).
          send(client, { cmd: 'ssu', sessionId: session.id, state: SessionState.CLOSED })
          this.close(session)
          return null
        }
        return this.end(session, client, 'stop', send, now)
      }
      case 'icecandidate': {
        const session = this.sessionFor(client, msg.sessionId)
        if (typeof session === 'string') return session
        if (session.state === SessionState.NEW) return { name: 'WRONG_STATE', detail: 'send candidates after call' }
        send(otherParty(session, client), { cmd: 'icecandidate', sessionId: session.id, icecandidate: msg.icecandidate })
        return null
      }
      case 'notify': {
        const opponent = this.opponent(client, msg.opponentId)
        if (typeof opponent === 'string') return opponent
        send(opponent, { cmd: 'notify', type: msg.type, data: msg.data, sId: client.sId })
        return null
      }
      case 'claim':
        return this.claim(client, msg.sessionId, msg.opponentId, send, now)
      default: {
        const unhandled: never = msg
        return { name: 'MALFORMED_FRAME', detail: `unknown cmd ${JSON.stringify(unhandled)}` }
      }
    }
  }

  /**
   * `{cmd:'sId'}`. An identified client's sId is its userId, nothing else; a userId belongs to
   * its user: an anonymous holder is renamed (`newId`, its sessions go on), an older connection
   * of the same user loses it (newest wins, as a second login does).
   */
  private register(conn: ConnId, client: CallClient | undefined, wanted: string | undefined, context: CallContext, send: Send, now: number): Outcome {
    const { userId } = context
    if (userId !== null && wanted !== undefined && wanted !== userId) return { name: 'FORBIDDEN_SID', detail: `your sId is your userId "${userId}"` }
    if (client && (wanted === undefined || wanted === client.sId)) {
      send(client, { cmd: 'sId', sId: client.sId }) // asking again is harmless
      return null
    }
    if (userId === null && wanted !== undefined) {
      if (this.bySId.has(wanted)) return 'SID_TAKEN'
      if (context.isUser?.(wanted)) return { name: 'FORBIDDEN_SID', detail: 'a user of this app has that userId' }
    }
    if (client && (client.open || client.created || this.recovery.holds(client))) return { name: 'BUSY', detail: 'cannot change sId during a session' }
    const sId = userId ?? wanted ?? context.newId
    const holder = userId === null ? undefined : this.bySId.get(userId)
    if (holder?.userId === null) this.rename(holder, context.newId, send)
    else if (holder) {
      // Usually the same client reconnecting before its old link was seen to close: its ACTIVE call waits for a claim.
      this.goAway(holder, send, now)
      send(holder.conn, callError('SID_TAKEN', 'your user registered it on another connection'))
    }
    if (client) this.bySId.delete(client.sId)
    const registered: CallClient = client ?? { conn, sId, userId, cluSentAt: Number.NEGATIVE_INFINITY, created: null, open: null, awaySince: null }
    registered.sId = sId
    this.byConn.set(conn, registered)
    this.bySId.set(sId, registered)
    send(registered, { cmd: 'sId', sId })
    this.clients.changed(send, now)
    return null
  }

  /** An anonymous client loses a user's id: it gets a fresh sId and keeps its sessions. */
  private rename(client: CallClient, sId: string, send: Send): void {
    this.bySId.delete(client.sId)
    client.sId = sId
    this.bySId.set(sId, client)
    send(client, { cmd: 'sId', sId })
  }

  /** Ends the client's sessions (`leave` for the other party) and frees its sId. */
  private unregister(client: CallClient, send: Send, now: number): void {
    for (const session of this.sessionsOf(client)) this.leave(session, client, send, now)
    this.forget(client)
  }

  /**
   * The client's link dropped: its sId is freed and its sessions end (`leave` for the other
   * party), except an ACTIVE one, which waits `graceMs` for the client's `claim`.
   */
  private goAway(client: CallClient, send: Send, now: number): void {
    const kept = client.open?.state === SessionState.ACTIVE ? client.open : null
    for (const session of this.sessionsOf(client)) if (session !== kept) this.leave(session, client, send, now)
    this.forget(client)
    if (kept) this.recovery.away(client, kept, now)
  }

  /** `client` is gone from `session`: the other party gets `leave` and CLOSED (a NEW session's opponent never heard of it). */
  private leave(session: CallSession, client: CallClient, send: Send, now: number): void {
    const other = otherParty(session, client)
    if (session.state === SessionState.NEW) {
      if (other === session.caller) {
        send(other, { cmd: 'leave', sessionId: session.id })
        send(other, { cmd: 'ssu', sessionId: session.id, state: SessionState.CLOSED })
      }
      this.close(session)
      return
    }
    this.finish(session, (party) => party === client ? [] : [{ cmd: 'leave', sessionId: session.id }, { cmd: 'ssu', sessionId: session.id, state: SessionState.CLOSED }], send, now)
  }

  /** Out of the registry: no sId, no connection, no claim, no list owed. */
  private forget(client: CallClient): void {
    this.byConn.delete(client.conn)
    this.bySId.delete(client.sId)
    this.clients.forget(client)
    this.recovery.forget(client)
  }

  /** Busy for calls: in a session, claiming one, or (a user) with an away connection whose call waits for its claim. */
  private busy(client: CallClient): boolean {
    return client.open !== null || this.recovery.holds(client)
  }

  /**
   * `call` on an ACTIVE session (ours): a renegotiation offer, for an ICE restart. Either
   * party may offer; the other answers with `accept`. One offer at a time: while one waits
   * for its answer the other party's offer is WRONG_STATE (the offerer may offer again).
   */
  private renegotiate(session: CallSession, client: CallClient, offer: Extract<CallClientMessage, { cmd: 'call' }>['offer'], send: Send): Outcome {
    if (session.offerFrom !== null && session.offerFrom !== client) return { name: 'WRONG_STATE', detail: 'the other party’s renegotiation offer waits for your accept' }
    session.offerFrom = client
    send(otherParty(session, client), { cmd: 'call', sessionId: session.id, offer, sId: client.sId })
    return null
  }

  /**
   * `{cmd:'claim', sessionId, opponentId}` (ours): a client takes back its ACTIVE call after a
   * reconnect. The claimant is the connection's registered sId and user, never a frame field:
   * 1. its call is here, waiting for it (it is the away party, the other party is `opponentId`):
   *    re-bound, `ssu` 3 to both parties;
   * 2. the call ended while it was away (within the grace): it gets how (`stop`/`leave`, `ssu` 4);
   * 3. otherwise — a restarted coordinator that lost the call, or not its call at all — a lone
   *    claim: the opponent's mirror claim recreates the session ACTIVE (`ssu` 3 to both);
   *    unmatched, it ends with `leave` and `ssu` 4 after `graceMs`.
   * A claim of someone else's session is case 3, answered exactly as a claim of an unknown id:
   * it can neither take nor probe the session. Errors: SELF_TARGET, BUSY (in another session),
   * WRONG_STATE (its own NEW session); a repeated claim of one's bound call gets its `ssu` again.
   */
  private claim(client: CallClient, sessionId: string, opponentId: string, send: Send, now: number): Outcome {
    if (opponentId === client.sId) return 'SELF_TARGET'
    const session = this.sessions.get(sessionId)
    if (session && client.open === session) {
      send(client, { cmd: 'ssu', sessionId, state: session.state })
      return null
    }
    if (client.open) return { name: 'BUSY', detail: 'you are in another call' }
    if (session && client.created === session) return { name: 'WRONG_STATE', detail: 'a NEW session has nothing to claim back: call' }
    const outcome = this.recovery.claim(client, sessionId, opponentId, session, now)
    switch (outcome.kind) {
      case 'wait':
        return null
      case 'ended':
        for (const msg of outcome.messages) send(client, msg)
        return null
      case 'rebind': {
        const { away } = outcome
        if (outcome.session.caller === away) outcome.session.caller = client
        else outcome.session.callee = client
        client.open = outcome.session
        this.recovery.rebound(outcome.session, away)
        // An offer sent to the away party was lost: the offerer offers again.
        outcome.session.offerFrom = null
        this.sendState(outcome.session, send)
        break
      }
      case 'recreate': {
        const recreated: CallSession = { id: sessionId, caller: outcome.with, callee: client, state: SessionState.ACTIVE, ringingSince: now, offerFrom: null }
        this.sessions.set(sessionId, recreated)
        outcome.with.open = recreated
        client.open = recreated
        this.sendState(recreated, send)
        break
      }
    }
    this.clients.changed(send, now)
    return null
  }

  private opponent(client: CallClient, opponentId: string): CallClient | CallErrorName {
    const opponent = this.bySId.get(opponentId)
    if (!opponent) return 'UNKNOWN_OPPONENT'
    if (opponent === client) return 'SELF_TARGET'
    return opponent
  }

  /** The session, if `client` may act on it; a NEW session is invisible to its callee. */
  private sessionFor(client: CallClient, sessionId: string): CallSession | CallErrorName {
    const session = this.sessions.get(sessionId)
    if (!session) return 'UNKNOWN_SESSION'
    if (session.caller !== client && session.callee !== client) return 'NOT_A_PARTY'
    if (session.state === SessionState.NEW && session.callee === client) return 'UNKNOWN_SESSION'
    return session
  }

  /** `reject` or `stop` of a PENDING/ACTIVE session: the other party gets the cmd, both get CLOSED. */
  private end(session: CallSession, by: CallClient, cmd: 'reject' | 'stop', send: Send, now: number): Outcome {
    const closed: CallServerMessage = { cmd: 'ssu', sessionId: session.id, state: SessionState.CLOSED }
    this.finish(session, (party) => party === by ? [closed] : [{ cmd, sessionId: session.id }, closed], send, now)
    return null
  }

  /**
   * Closes a PENDING/ACTIVE session. Each party gets its `messages` now, or — away — when it
   * claims the session back within the grace period.
   */
  private finish(session: CallSession, messages: (party: CallClient) => CallServerMessage[], send: Send, now: number): void {
    const wasActive = session.state === SessionState.ACTIVE
    for (const party of parties(session)) {
      const told = messages(party)
      if (party.awaySince === null) for (const msg of told) send(party, msg)
      else if (told.length > 0) this.recovery.missed(session, party, told, now)
    }
    this.close(session)
    if (wasActive) this.clients.changed(send, now)
  }

  private sendState(session: CallSession, send: Send): void {
    send([session.caller, session.callee], { cmd: 'ssu', sessionId: session.id, state: session.state })
  }

  private close(session: CallSession): void {
    session.state = SessionState.CLOSED
    this.sessions.delete(session.id)
    this.ringing.delete(session)
    this.recovery.closed(session)
    for (const party of parties(session)) {
      if (party.created === session) party.created = null
      if (party.open === session) party.open = null
    }
  }

  private sessionsOf(client: CallClient): CallSession[] {
    const found = new Set<CallSession>()
    if (client.created) found.add(client.created)
    if (client.open) found.add(client.open)
    // NEW sessions other clients created with this one as the callee.
    for (const session of this.sessions.values()) if (session.callee === client) found.add(session)
    return [...found]
  }
}
