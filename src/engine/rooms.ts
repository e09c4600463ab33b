import {
  MAX_ROOM_MEMBERS, MAX_SESSIONS_PER_CONNECTION, ROOM_CODES,
  type ListCause, type PeerSignalName, type Role, type RoomAck, type RoomMember, type RoomSession, type RoomSignalName, type RoomType,
} from '../protocol/room-codes'
import type { ParsedRoomFrame, RoomSignal, RoomTarget } from '../protocol/rooms'
import { SFU_PUBLISHER_CAP, SFU_SESSION } from '../protocol/sfu'
import type { ConnId, Effects } from './effects'
import {
  DEFAULT_ROOM_TIMINGS, adminOf, errorAck, failed, okAck, ppsOf, publishes, pushList, send,
  type Member, type Outcome, type RoomContext, type RoomProfile, type RoomState, type RoomTimings,
} from './room-model'

export { DEFAULT_ROOM_TIMINGS } from './room-model'
export type { RoomContext, RoomProfile, RoomTimings } from './room-model'

type Signal<S extends RoomSignalName> = Extract<RoomSignal, { s: S }>

const { INVALID_SIGNAL, UNSUPPORTED_CHANNEL, ROOM_NOT_FOUND, NOT_ROOM_MEMBER, ALREADY_EXIST_ROOM, ALREADY_IS_PUBLISHER, PERMISSION_NOT_FOUND, INTERNAL_SERVER_ERROR } = ROOM_CODES

/** Signals a room type does not carry (seed 003: KICK is "P2M, M2M and A2M", PUBLISH_* "M2M and A2M"). */
const UNSUPPORTED: Partial<Record<RoomSignalName, readonly RoomType[]>> = {
  KICK: ['p2p'],
  PUBLISH_REQUEST: ['p2p', 'p2m'],
  PUBLISH_ACCEPT: ['p2p', 'p2m'],
  PUBLISH_REJECT: ['p2p', 'p2m'],
}

/** What a room is, for tests and hosts that want to look (read only). */
export interface RoomSnapshot { rid: string; type: RoomType; engine: 'native' | 'sfu'; admin: string | null; members: RoomMember[] }

/**
 * Seed 003's rooms as a pure state machine: rooms of one app, their members (one per
 * session), roles, the publisher list pushes and the forwarding of signals between
 * members. One registry per app, shared by every transport of that app (native `room` op,
 * raw /ws/rooms). The rules are issue 13's design (/tmp/rooms/DESIGN.md "Rules (engine)").
 */
export class Rooms {
  private readonly rooms = new Map<string, RoomState>()
  /** Each connection's sessions, across rooms (MAX_SESSIONS_PER_CONNECTION, disconnect). */
  private readonly byConn = new Map<ConnId, Set<Member>>()

  constructor(private readonly timings: RoomTimings = DEFAULT_ROOM_TIMINGS) {}

  /**
   * Handles one frame from `conn` and returns the ack for the sender; pushes and forwarded
   * signals go out through `fx`. An error changes nothing. An unexpected exception is a 500
   * (the seed's "the client shall exit the room") and sends nothing.
   */
  handle(conn: ConnId, parsed: ParsedRoomFrame, context: RoomContext, fx: Effects, now: number): RoomAck {
    if (!parsed.ok) return errorAck(INVALID_SIGNAL, parsed.s, parsed.req, parsed.msg)
    const { signal, req } = parsed
    const sent = fx.sends.length
    let outcome: Outcome
    try {
      outcome = this.dispatch(conn, signal, context, fx, now)
    } catch {
      fx.sends.length = sent
      return errorAck(INTERNAL_SERVER_ERROR, signal.s, req, 'internal server error: leave the room')
    }
    return 'c' in outcome ? errorAck(outcome.c, signal.s, req, outcome.msg) : okAck(signal.s, outcome.b)
  }

  /** The connection closed: its sessions leave every room at once (cause 'disconnect'). */
  disconnect(conn: ConnId, fx: Effects, now: number): void {
    const mine = this.byConn.get(conn)
    if (!mine) return
    const byRoom = new Map<RoomState, Member[]>()
    for (const member of mine) byRoom.set(member.room, [...(byRoom.get(member.room) ?? []), member])
    for (const [room, members] of byRoom) this.remove(room, members, 'disconnect', fx, now)
  }

  /** Removes sessions silent for `heartbeatTimeoutMs` (cause 'timeout'). */
  tick(fx: Effects, now: number): void {
    for (const room of [...this.rooms.values()]) {
      const silent = [...room.members.values()].filter((member) => now - member.lastSeen >= this.timings.heartbeatTimeoutMs)
      if (silent.length > 0) this.remove(room, silent, 'timeout', fx, now)
    }
  }

  /** No rooms: the registry can be dropped. */
  get isEmpty(): boolean {
    return this.rooms.size === 0 && this.byConn.size === 0
  }

  get roomCount(): number {
    return this.rooms.size
  }

  room(rid: string): RoomSnapshot | undefined {
    const room = this.rooms.get(rid)
    if (!room) return undefined
    return { rid, type: room.type, engine: room.sfu === null ? 'native' : 'sfu', admin: adminOf(room)?.session.sessionId ?? null, members: ppsOf(room) }
  }

  /** The sessions a connection holds, across rooms. */
  sessionsOf(conn: ConnId): { rid: string; sessionId: string }[] {
    return [...(this.byConn.get(conn) ?? [])].map((member) => ({ rid: member.room.rid, sessionId: member.session.sessionId }))
  }

  private dispatch(conn: ConnId, signal: RoomSignal, context: RoomContext, fx: Effects, now: number): Outcome {
    const { userId } = context
    if (userId !== null && signal.ss.userId !== userId) return failed(INVALID_SIGNAL, `ss.userId must be your userId "${userId}"`)
    // As for call sIds: a userId belongs to its user; open mode's anonymous sockets may not borrow a logged-in one.
    if (userId === null && context.isUser?.(signal.ss.userId) && !(signal.s === 'JOIN' && signal.op.userFaking)) return failed(INVALID_SIGNAL, `"${signal.ss.userId}" is a user of this app: connect as that user`)
    if (signal.s === 'JOIN') return this.join(conn, signal, context, fx, now)
    const room = this.rooms.get(signal.rid)
    if (!room) return failed(ROOM_NOT_FOUND, `no room "${signal.rid}"`)
    if (signal.ch !== room.type) return failed(UNSUPPORTED_CHANNEL, `room "${room.rid}" is ${room.type}, not ${signal.ch}`)
    if (UNSUPPORTED[signal.s]?.includes(room.type)) return failed(UNSUPPORTED_CHANNEL, `${signal.s} is not supported in ${room.type} rooms`)
    const member = room.members.get(signal.ss.sessionId)
    if (!member) return failed(NOT_ROOM_MEMBER, `session "${signal.ss.sessionId}" is not in room "${room.rid}"`)
    if (member.conn !== conn) return failed(INVALID_SIGNAL, `session "${signal.ss.sessionId}" belongs to another connection`)
    if (member.session.userId !== signal.ss.userId) return failed(INVALID_SIGNAL, `session "${signal.ss.sessionId}" belongs to another user`)
    member.lastSeen = now
    switch (signal.s) {
      case 'LEAVE':
        this.remove(room, [member], 'leave', fx, now)
        return { b: { rid: room.rid } }
      case 'UPDATE':
        if (!publishes(member)) return failed(PERMISSION_NOT_FOUND, 'only a publisher updates video and audio')
        if (signal.ve !== undefined) member.video = signal.ve
        if (signal.ae !== undefined) member.audio = signal.ae
        pushList(room, 'update', fx, now)
        return { b: { rid: room.rid } }
      case 'HEARTBEAT':
        member.profile = profileOf(context, member.session.userId)
        return { b: { pps: ppsOf(room), rid: room.rid, bid: signal.bid } }
      case 'KICK':
        return this.kick(room, member, signal, fx, now)
      case 'PUBLISH_REQUEST': {
        if (publishes(member)) return failed(ALREADY_IS_PUBLISHER, 'you publish already')
        const admin = adminOf(room)
        if (admin) this.forward(signal, member, [admin], fx, now)
        return { b: { rid: room.rid } }
      }
      case 'PUBLISH_ACCEPT': case 'PUBLISH_REJECT': {
        if (member.role !== 'admin') return failed(PERMISSION_NOT_FOUND, `only the admin sends ${signal.s}`)
        const targets = targetsOf(room, signal.to)
        if (targets.length === 0) return failed(NOT_ROOM_MEMBER, `${describe(signal.to)} is not in room "${room.rid}"`)
        // The admin's choice: the publisher cap binds only the automatic role on join.
        if (signal.s === 'PUBLISH_ACCEPT') for (const target of targets) if (target.role === 'viewer') target.role = 'publisher'
        this.forward(signal, member, targets, fx, now)
        if (signal.s === 'PUBLISH_ACCEPT') pushList(room, 'promote', fx, now)
        return { b: { rid: room.rid } }
      }
      case 'OFFER': case 'ANSWER': case 'CANDIDATE': case 'NOTIFY':
        return this.peerSignal(room, member, signal, fx, now)
      default: {
        const unhandled: never = signal
        return failed(INVALID_SIGNAL, `unknown signal ${JSON.stringify((unhandled as { s: unknown }).s)}`)
      }
    }
  }

  /**
   * JOIN. Same sessionId already in the room: from its connection an idempotent re-JOIN (the
   * ack again); from another connection of the same user a takeover (a reconnect: the member
   * keeps its place and role); of another user 2001. A re-JOIN with `roomCreating` is still a
   * re-JOIN, so that a JOIN resent after a reconnect succeeds.
   */
  private join(conn: ConnId, signal: Signal<'JOIN'>, context: RoomContext, fx: Effects, now: number): Outcome {
    const faking = signal.op.userFaking === true
    if (faking && context.userId !== null) return failed(INVALID_SIGNAL, 'userFaking is for anonymous connections: a user cannot shed their identity')
    const { sessionId, category, host, deviceId } = signal.ss
    const session: RoomSession = { userId: faking ? context.newId : signal.ss.userId, sessionId, category, host, deviceId }
    const creating = signal.op.roomCreating === true
    const room = this.rooms.get(signal.rid)
    if (!room && !creating) return failed(ROOM_NOT_FOUND, `no room "${signal.rid}"; set op.roomCreating to start it`)
    const existing = room?.members.get(sessionId)
    if (room && creating && !existing) return failed(ALREADY_EXIST_ROOM, `room "${room.rid}" exists; join without op.roomCreating`)
    if (room && signal.ch !== room.type) return failed(UNSUPPORTED_CHANNEL, `room "${room.rid}" is ${room.type}, not ${signal.ch}`)
    if (existing) return this.rejoin(conn, existing, session, faking, signal, context, fx, now)
    if (room?.type === 'p2p' && room.members.size >= 2) return failed(UNSUPPORTED_CHANNEL, 'a p2p room holds two members')
    if (room && room.members.size >= MAX_ROOM_MEMBERS) return failed(UNSUPPORTED_CHANNEL, `room "${room.rid}" is full (${MAX_ROOM_MEMBERS} members)`)
    if (this.sessionCount(conn) >= MAX_SESSIONS_PER_CONNECTION) return failed(INVALID_SIGNAL, `a connection holds at most ${MAX_SESSIONS_PER_CONNECTION} room sessions`)
    const profile = profileOf(context, session.userId)
    // The creator chooses the engine; later JOINs' `eg` does not change it.
    const sfu = room ? room.sfu : signal.eg === 'sfu' && context.sfu ? context.sfu.conn : null
    const sdps = sfu === null ? undefined : offerOf(context, signal.rid, sessionId)
    if (sdps && 'refused' in sdps) return failed(INTERNAL_SERVER_ERROR, sdps.refused)
    const joined: RoomState = room ?? { rid: signal.rid, type: signal.ch, members: new Map(), sfu }
    const member: Member = {
      room: joined, session, conn, role: room ? this.roleOnJoin(room, session) : 'admin',
      video: signal.ve, audio: signal.ae, lastSeen: now, profile, sdps,
    }
    this.rooms.set(joined.rid, joined)
    joined.members.set(sessionId, member)
    this.index(member)
    pushList(joined, 'join', fx, now)
    return { b: joinAck(member, context) }
  }

  private rejoin(conn: ConnId, existing: Member, session: RoomSession, faking: boolean, signal: Signal<'JOIN'>, context: RoomContext, fx: Effects, now: number): Outcome {
    const same = existing.conn === conn
    // A faked userId is fresh each time: on its own connection the session is still its own.
    if (existing.session.userId !== session.userId && !(faking && same)) return failed(INVALID_SIGNAL, `session "${session.sessionId}" belongs to another user`)
    // Only a connection that is that user may take a session over; an anonymous one would be anyone.
    if (!same && context.userId === null) return failed(INVALID_SIGNAL, `session "${session.sessionId}" belongs to another connection`)
    if (!same && this.sessionCount(conn) >= MAX_SESSIONS_PER_CONNECTION) return failed(INVALID_SIGNAL, `a connection holds at most ${MAX_SESSIONS_PER_CONNECTION} room sessions`)
    // In an SFU room every JOIN again gets a new receive connection: a takeover is a new client,
    // and a member whose connection failed JOINs again for one (only the SFU can offer it anew).
    const sdps = existing.room.sfu === null ? undefined : offerOf(context, existing.room.rid, session.sessionId)
    if (sdps && 'refused' in sdps) return failed(INTERNAL_SERVER_ERROR, sdps.refused)
    existing.sdps = sdps
    existing.lastSeen = now
    existing.profile = profileOf(context, existing.session.userId)
    if (same) return { b: joinAck(existing, context) }
    this.unindex(existing)
    existing.conn = conn
    existing.session = { ...session, userId: existing.session.userId }
    existing.video = signal.ve
    existing.audio = signal.ae
    this.index(existing)
    pushList(existing.room, 'join', fx, now)
    return { b: joinAck(existing, context) }
  }

  /**
   * p2p: everyone publishes; m2m: while fewer than the cap publish; a2m, p2m: viewers (the
   * admin promotes). A screen share of a user who publishes in the room publishes too: it is
   * the same person showing more.
   */
  private roleOnJoin(room: RoomState, session: RoomSession): Role {
    const sharer = session.category === 'screenshare' && [...room.members.values()].some((member) => member.session.userId === session.userId && publishes(member))
    if (sharer) return 'publisher'
    switch (room.type) {
      case 'p2p':
        return 'publisher'
      case 'm2m': {
        const publishing = [...room.members.values()].filter(publishes).length
        // An SFU receives each publisher once: the mesh's cap does not bind there.
        return publishing < (room.sfu === null ? this.timings.publisherCap : SFU_PUBLISHER_CAP) ? 'publisher' : 'viewer'
      }
      case 'a2m': case 'p2m':
        return 'viewer'
    }
  }

  private kick(room: RoomState, member: Member, signal: Signal<'KICK'>, fx: Effects, now: number): Outcome {
    if (member.role !== 'admin') return failed(PERMISSION_NOT_FOUND, 'only the admin kicks')
    const targets = targetsOf(room, signal.to)
    if (targets.length === 0) return failed(NOT_ROOM_MEMBER, `${describe(signal.to)} is not in room "${room.rid}"`)
    if (targets.includes(member)) return failed(INVALID_SIGNAL, 'you cannot kick your own session: send LEAVE')
    for (const target of targets) send(fx, [target.conn], { c: ROOM_CODES.OK, s: 'KICK', b: { rid: room.rid, id: target.session.sessionId } }, now)
    this.remove(room, targets, 'kick', fx, now)
    return { b: { rid: room.rid } }
  }

  /** OFFER (publishers only), ANSWER, CANDIDATE, NOTIFY: to one other session of the room, or to its SFU. */
  private peerSignal(room: RoomState, member: Member, signal: Signal<PeerSignalName>, fx: Effects, now: number): Outcome {
    if (signal.s === 'OFFER' && !publishes(member)) return failed(PERMISSION_NOT_FOUND, 'only a publisher offers media')
    if (room.sfu !== null && signal.to.sessionId === SFU_SESSION.sessionId) {
      const { ch: _ch, ss: _claimed, to: _to, ...rest } = signal
      send(fx, [room.sfu], { ...rest, ch: room.type, ss: { ...member.session }, to: { ...SFU_SESSION } }, now)
      return { b: { rid: room.rid } }
    }
    const [target] = targetsOf(room, signal.to)
    if (!target) return failed(NOT_ROOM_MEMBER, `${describe(signal.to)} is not in room "${room.rid}"`)
    if (target === member) return failed(INVALID_SIGNAL, `${signal.s} goes to another session`)
    this.forward(signal, member, [target], fx, now)
    return { b: { rid: room.rid } }
  }

  /** Each recipient gets the signal itself, with the sender's session as recorded and itself as `to`. */
  private forward(signal: RoomSignal, from: Member, recipients: Member[], fx: Effects, now: number): void {
    const { s, ch: _ch, rid, ss: _claimed, to: _to, ...rest } = signal as RoomSignal & { to?: unknown }
    for (const recipient of recipients) {
      const to = { userId: recipient.session.userId, sessionId: recipient.session.sessionId }
      send(fx, [recipient.conn], { s, ch: from.room.type, rid, ss: { ...from.session }, to, ...rest }, now)
    }
  }

  /**
   * A signal from the room's SFU to one member (an ANSWER to its send connection's offer, a
   * NOTIFY of slots or layers), sent as SFU_SESSION. Dropped when the room or member is gone.
   */
  fromSfu(rid: string, to: string, signal: { s: PeerSignalName } & Record<string, unknown>, fx: Effects, now: number): void {
    const room = this.rooms.get(rid)
    const member = room?.members.get(to)
    if (!room || room.sfu === null || !member) return
    const { ss: _ss, to: _to, ch: _ch, rid: _rid, ...rest } = signal
    send(fx, [member.conn], { ...rest, ch: room.type, rid, ss: { ...SFU_SESSION }, to: { userId: member.session.userId, sessionId: to } }, now)
  }

  /**
   * Members leave a room together: the room is deleted when empty; if the admin left, the
   * longest-present remaining member becomes admin; everyone left gets one list push.
   */
  private remove(room: RoomState, members: Member[], cause: ListCause, fx: Effects, now: number): void {
    const admin = adminOf(room)
    for (const member of members) {
      room.members.delete(member.session.sessionId)
      this.unindex(member)
    }
    if (room.members.size === 0) {
      this.rooms.delete(room.rid)
      if (room.sfu !== null) pushList(room, cause, fx, now)
      return
    }
    let adminChanged: { from: string; to: string } | undefined
    if (admin && members.includes(admin)) {
      const next = room.members.values().next().value as Member
      next.role = 'admin'
      adminChanged = { from: admin.session.sessionId, to: next.session.sessionId }
    }
    pushList(room, cause, fx, now, adminChanged)
  }

  private sessionCount(conn: ConnId): number {
    return this.byConn.get(conn)?.size ?? 0
  }

  private index(member: Member): void {
    const mine = this.byConn.get(member.conn) ?? new Set<Member>()
    mine.add(member)
    this.byConn.set(member.conn, mine)
  }

  private unindex(member: Member): void {
    const mine = this.byConn.get(member.conn)
    mine?.delete(member)
    if (mine?.size === 0) this.byConn.delete(member.conn)
  }
}

function joinAck(member: Member, context: RoomContext): Record<string, unknown> {
  const es: Record<string, unknown> = { icfg: { is: [...context.iceUrls] } }
  if (member.sdps) es.sdps = { ...member.sdps }
  return {
    pps: ppsOf(member.room), rid: member.room.rid, pt: member.role, eg: member.room.sfu === null ? 'native' : 'sfu',
    es, ss: { ...member.session },
  }
}

/** The SFU's receive-connection offer for a joining session (seed 003 `es.sdps`), or why not. */
function offerOf(context: RoomContext, rid: string, sessionId: string): { id: string; sdp: string } | { refused: string } {
  if (!context.sfu) return { refused: 'Server overload: this relay has no forwarding unit now' }
  const offered = context.sfu.offer(rid, sessionId)
  return 'refused' in offered ? offered : { id: sessionId, sdp: offered.sdp }
}

/** `to` as a userId (every session of that user) or one session (its userId, if given, must match). */
function targetsOf(room: RoomState, to: RoomTarget): Member[] {
  if (typeof to === 'string') return [...room.members.values()].filter((member) => member.session.userId === to)
  const member = room.members.get(to.sessionId)
  return member && (to.userId === undefined || to.userId === member.session.userId) ? [member] : []
}

function describe(to: RoomTarget): string {
  return typeof to === 'string' ? `user "${to}"` : `session "${to.sessionId}"`
}

function profileOf(context: RoomContext, userId: string): RoomProfile {
  return context.profileOf?.(userId) ?? {}
}
