import {
  ClientCallState, SessionState, callError,
  type CallClientMessage, type CallErrorName, type CallServerMessage, type ParsedCallMessage, type SessionStateValue,
} from '../protocol/calls'
import type { Effects, ConnId } from './effects'

/** What the host hands in with each call frame: ids come from outside, the engine has no randomness. */
export interface CallContext {
  /** A fresh unique id: becomes the sId when none was asked for, or the new session's id. */
  newId: string
  /** The sId to give when `{cmd:'sId'}` names none and this one is free (a logged-in user's userId). */
  preferredSId?: string
}

export interface CallFailure {
  name: CallErrorName
  msg: Extract<CallServerMessage, { cmd: 'error' }>
}

interface CallClient {
  conn: ConnId
  sId: string
  /** The one session this client may have NEW as its creator (a new `session` replaces it). */
  created: CallSession | null
  /** The PENDING or ACTIVE session this client is a party of. */
  open: CallSession | null
}

interface CallSession {
  id: string
  caller: CallClient
  callee: CallClient
  state: SessionStateValue
}

type Outcome = CallErrorName | { name: CallErrorName; detail: string } | null
/** Delivers call messages of one input; several recipients share one encoded event. */
type Send = (to: CallClient | ConnId | CallClient[], msg: CallServerMessage) => void

function sender(fx: Effects, now: number): Send {
  return (to, msg) => {
    const conns = typeof to === 'string' ? [to] : Array.isArray(to) ? to.map((client) => client.conn) : [to.conn]
    fx.send(conns, { kind: 'call', msg, timestamp: now })
  }
}

/**
 * Seed 002's call protocol as a pure state machine: an sId registry, one-to-one sessions
 * (NEW → PENDING → ACTIVE → CLOSED) and the client list (`clu`). One registry per
 * coordinator, shared by every transport (native `call` op, raw /ws/calls).
 */
export class Calls {
  private readonly byConn = new Map<ConnId, CallClient>()
  private readonly bySId = new Map<string, CallClient>()
  private readonly sessions = new Map<string, CallSession>()

  /** Handles one frame from `conn`; an error reaches only the sender and changes nothing. Returns it too. */
  handle(conn: ConnId, input: ParsedCallMessage, context: CallContext, fx: Effects, now: number): CallFailure | null {
    const send = sender(fx, now)
    const outcome: Outcome = input.ok ? this.dispatch(conn, input.msg, context, send) : { name: 'MALFORMED_FRAME', detail: input.reason }
    if (outcome === null) return null
    const name = typeof outcome === 'string' ? outcome : outcome.name
    const msg = typeof outcome === 'string' ? callError(outcome) : callError(outcome.name, outcome.detail)
    send(conn, msg)
    return { name, msg }
  }

  /** The connection went away: its sessions end (`leave` for the other party) and its sId is freed. */
  disconnect(conn: ConnId, fx: Effects, now: number): void {
    const client = this.byConn.get(conn)
    if (!client) return
    const send = sender(fx, now)
    for (const session of this.sessionsOf(client)) {
      const other = session.caller === client ? session.callee : session.caller
      // A NEW session's opponent never heard of it; only its creator is told.
      if (session.state !== SessionState.NEW || other === session.caller) {
        send(other, { cmd: 'leave', sessionId: session.id })
        send(other, { cmd: 'ssu', sessionId: session.id, state: SessionState.CLOSED })
      }
      this.close(session)
    }
    this.byConn.delete(conn)
    this.bySId.delete(client.sId)
    this.broadcastList(send)
  }

  /** sIds and states, in registration order (what `clu` carries). */
  list(): { sId: string; state: 1 | 2 }[] {
    return [...this.bySId.values()].map((client) => ({
      sId: client.sId,
      state: client.open?.state === SessionState.ACTIVE ? ClientCallState.CALLING : ClientCallState.WAIT,
    }))
  }

  get sessionCount(): number {
    return this.sessions.size
  }

  private dispatch(conn: ConnId, msg: CallClientMessage, context: CallContext, send: Send): Outcome {
    const client = this.byConn.get(conn)
    if (msg.cmd === 'sId') return this.register(conn, client, msg.sId, context, send)
    if (!client) return 'NO_SID'
    switch (msg.cmd) {
      case 'session': {
        const opponent = this.opponent(client, msg.opponentId)
        if (typeof opponent === 'string') return opponent
        if (client.open) return 'BUSY'
        if (opponent.open) return 'OPPONENT_BUSY'
        // A creator has at most one NEW session: asking for another abandons the first.
        if (client.created) {
          send(client, { cmd: 'ssu', sessionId: client.created.id, state: SessionState.CLOSED })
          this.close(client.created)
        }
        const session: CallSession = { id: context.newId, caller: client, callee: opponent, state: SessionState.NEW }
        this.sessions.set(session.id, session)
        client.created = session
        send(client, { cmd: 'ssu', sessionId: session.id, state: SessionState.NEW })
        return null
      }
      case 'call': {
        const session = this.sessionFor(client, msg.sessionId)
        if (typeof session === 'string') return session
        if (session.caller !== client || session.state !== SessionState.NEW) return { name: 'WRONG_STATE', detail: 'only the creator calls, once, in NEW' }
        if (client.open) return 'BUSY'
        if (session.callee.open) return 'OPPONENT_BUSY'
        session.state = SessionState.PENDING
        client.created = null
        client.open = session
        session.callee.open = session
        // The callee may have a NEW session of its own: a ringing call supersedes it.
        if (session.callee.created) {
          send(session.callee, { cmd: 'ssu', sessionId: session.callee.created.id, state: SessionState.CLOSED })
          this.close(session.callee.created)
        }
        send(session.callee, { cmd: 'call', sessionId: session.id, offer: msg.offer, sId: client.sId })
        this.sendState(session, send)
        return null
      }
      case 'accept': {
        const session = this.sessionFor(client, msg.sessionId)
        if (typeof session === 'string') return session
        if (session.callee !== client || session.state !== SessionState.PENDING) return { name: 'WRONG_STATE', detail: 'only the callee accepts, in PENDING' }
        session.state = SessionState.ACTIVE
        send(session.caller, { cmd: 'accept', sessionId: session.id, answer: msg.answer })
        this.sendState(session, send)
        this.broadcastList(send)
        return null
      }
      case 'reject': {
        const session = this.sessionFor(client, msg.sessionId)
        if (typeof session === 'string') return session
        if (session.callee !== client || session.state !== SessionState.PENDING) return { name: 'WRONG_STATE', detail: 'only the callee rejects, in PENDING' }
        return this.end(session, client, 'reject', send)
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
        return this.end(session, client, 'stop', send)
      }
      case 'icecandidate': {
        const session = this.sessionFor(client, msg.sessionId)
        if (typeof session === 'string') return session
        if (session.state === SessionState.NEW) return { name: 'WRONG_STATE', detail: 'send candidates after call' }
        send(session.caller === client ? session.callee : session.caller, { cmd: 'icecandidate', sessionId: session.id, icecandidate: msg.icecandidate })
        return null
      }
      case 'notify': {
        const opponent = this.opponent(client, msg.opponentId)
        if (typeof opponent === 'string') return opponent
        send(opponent, { cmd: 'notify', type: msg.type, data: msg.data, sId: client.sId })
        return null
      }
      default: {
        const unhandled: never = msg
        return { name: 'MALFORMED_FRAME', detail: `unknown cmd ${JSON.stringify(unhandled)}` }
      }
    }
  }

  private register(conn: ConnId, client: CallClient | undefined, wanted: string | undefined, context: CallContext, send: Send): Outcome {
    if (client && (wanted === undefined || wanted === client.sId)) {
      send(client, { cmd: 'sId', sId: client.sId }) // asking again is harmless
      return null
    }
    if (wanted !== undefined && this.bySId.has(wanted)) return 'SID_TAKEN'
    if (client && (client.open || client.created)) return { name: 'BUSY', detail: 'cannot change sId during a session' }
    const preferred = context.preferredSId !== undefined && !this.bySId.has(context.preferredSId) ? context.preferredSId : undefined
    const sId = wanted ?? preferred ?? context.newId
    if (client) this.bySId.delete(client.sId)
    const registered: CallClient = client ?? { conn, sId, created: null, open: null }
    registered.sId = sId
    this.byConn.set(conn, registered)
    this.bySId.set(sId, registered)
    send(registered, { cmd: 'sId', sId })
    this.broadcastList(send)
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
  private end(session: CallSession, by: CallClient, cmd: 'reject' | 'stop', send: Send): Outcome {
    const other = session.caller === by ? session.callee : session.caller
    const wasActive = session.state === SessionState.ACTIVE
    send(other, { cmd, sessionId: session.id })
    session.state = SessionState.CLOSED
    this.sendState(session, send)
    this.close(session)
    if (wasActive) this.broadcastList(send)
    return null
  }

  private sendState(session: CallSession, send: Send): void {
    send([session.caller, session.callee], { cmd: 'ssu', sessionId: session.id, state: session.state })
  }

  private close(session: CallSession): void {
    session.state = SessionState.CLOSED
    this.sessions.delete(session.id)
    for (const party of [session.caller, session.callee]) {
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

  /** Seed 002 "Clu": everyone with an sId, except those in a call, gets the new list. */
  private broadcastList(send: Send): void {
    const waiting = [...this.bySId.values()].filter((client) => client.open?.state !== SessionState.ACTIVE)
    send(waiting, { cmd: 'clu', list: this.list() })
  }
}
