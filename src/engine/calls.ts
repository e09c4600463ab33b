import {
  ClientCallState, SessionState, callError,
  type CallClientMessage, type CallErrorName, type CallServerMessage, type ParsedCallMessage, type SessionStateValue,
} from '../protocol/calls'
import type { Effects, ConnId } from './effects'

/** At most one `clu` per client per this interval (the latest list); registrations cannot amplify. */
export const CLU_INTERVAL_MS = 500

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

interface CallClient {
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
 * (NEW → PENDING → ACTIVE → CLOSED) and the client list (`clu`). One registry per app,
 * shared by every transport of that app (native `call` op, raw /ws/calls).
 */
export class Calls {
  private readonly byConn = new Map<ConnId, CallClient>()
  private readonly bySId = new Map<string, CallClient>()
  private readonly sessions = new Map<string, CallSession>()
  /** Clients owed the latest list once their CLU_INTERVAL_MS has passed (sent by `tick`). */
  private readonly cluOwed = new Set<CallClient>()

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

  /** The connection went away: its sessions end (`leave` for the other party) and its sId is freed. */
  disconnect(conn: ConnId, fx: Effects, now: number): void {
    const client = this.byConn.get(conn)
    if (!client) return
    const send = sender(fx, now)
    this.unregister(client, send)
    this.broadcastList(send, now)
  }

  /** Sends the latest list to clients whose interval has passed since a change was held back. */
  tick(fx: Effects, now: number): void {
    const due = [...this.cluOwed].filter((client) => now - client.cluSentAt >= CLU_INTERVAL_MS && !inCall(client))
    this.sendList(due, sender(fx, now), now)
  }

  /** No clients and no sessions: the registry can be dropped. */
  get isEmpty(): boolean {
    return this.byConn.size === 0 && this.sessions.size === 0
  }

  /** sIds and states, in registration order (what `clu` carries). */
  list(): { sId: string; state: 1 | 2 }[] {
    return [...this.bySId.values()].map((client) => ({
      sId: client.sId,
      state: inCall(client) ? ClientCallState.CALLING : ClientCallState.WAIT,
    }))
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
        this.broadcastList(send, now)
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
    if (client && (client.open || client.created)) return { name: 'BUSY', detail: 'cannot change sId during a session' }
    const sId = userId ?? wanted ?? context.newId
    const holder = userId === null ? undefined : this.bySId.get(userId)
    if (holder?.userId === null) this.rename(holder, context.newId, send)
    else if (holder) {
      this.unregister(holder, send)
      send(holder, callError('SID_TAKEN', 'your user registered it on another connection'))
    }
    if (client) this.bySId.delete(client.sId)
    const registered: CallClient = client ?? { conn, sId, userId, cluSentAt: Number.NEGATIVE_INFINITY, created: null, open: null }
    registered.sId = sId
    this.byConn.set(conn, registered)
    this.bySId.set(sId, registered)
    send(registered, { cmd: 'sId', sId })
    this.broadcastList(send, now)
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
  private unregister(client: CallClient, send: Send): void {
    for (const session of this.sessionsOf(client)) {
      const other = session.caller === client ? session.callee : session.caller
      // A NEW session's opponent never heard of it; only its creator is told.
      if (session.state !== SessionState.NEW || other === session.caller) {
        send(other, { cmd: 'leave', sessionId: session.id })
        send(other, { cmd: 'ssu', sessionId: session.id, state: SessionState.CLOSED })
      }
      this.close(session)
    }
    this.byConn.delete(client.conn)
    this.bySId.delete(client.sId)
    this.cluOwed.delete(client)
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
    const other = session.caller === by ? session.callee : session.caller
    const wasActive = session.state === SessionState.ACTIVE
    send(other, { cmd, sessionId: session.id })
    session.state = SessionState.CLOSED
    this.sendState(session, send)
    this.close(session)
    if (wasActive) this.broadcastList(send, now)
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

  /**
   * Seed 002 "Clu": everyone with an sId, except those in a call, gets the new list — at
   * once if its last list is CLU_INTERVAL_MS old, else the latest one from `tick`.
   */
  private broadcastList(send: Send, now: number): void {
    const due: CallClient[] = []
    for (const client of this.bySId.values()) {
      if (inCall(client)) continue
      if (now - client.cluSentAt >= CLU_INTERVAL_MS) due.push(client)
      else this.cluOwed.add(client)
    }
    this.sendList(due, send, now)
  }

  private sendList(to: CallClient[], send: Send, now: number): void {
    if (to.length === 0) return
    for (const client of to) {
      client.cluSentAt = now
      this.cluOwed.delete(client)
    }
    send(to, { cmd: 'clu', list: this.list() })
  }
}

/** In an ACTIVE call: CALLING in the list, and no list updates until it ends (seed 002). */
function inCall(client: CallClient): boolean {
  return client.open?.state === SessionState.ACTIVE
}
