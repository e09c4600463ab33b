import { ACTION_SIGNALS, parseRoomFrame, type ListCause, type RoomAction, type RoomSignalName, type Role, type RoomAck, type RoomMember, type RoomServerMessage, type RoomSession, type RoomType } from '../protocol/rooms'
import { Effects, type Output } from './effects'
import { DEFAULT_ROOM_TIMINGS, Rooms, type RoomProfile, type RoomTimings } from './rooms'

export const ICE_URLS = ['stun:stun.example.test:3478']

/** A seed session info (`ss`) for `userId`; its sessionId is `<userId>-1` unless given. */
export function ss(userId: string, sessionId = `${userId}-1`, more: Partial<RoomSession> = {}): RoomSession {
  return { userId, sessionId, category: 'stream', host: 'Web', deviceId: `${userId}-device`, ...more }
}

/** The pps entry the server shows for `session` (video and audio on unless `more` says otherwise). */
export function entry(session: RoomSession, role: Role, more: Partial<RoomMember> = {}): RoomMember {
  const { userId, sessionId, host, category, deviceId } = session
  return { id: sessionId, sessionId, role, video: true, audio: true, publish: role !== 'viewer', userId, host, category, deviceId, ...more }
}

/** The PUBLISH_LIST_CHANGED push. */
export function listPush(rid: string, pps: RoomMember[], cause: ListCause, admin: string, adminChanged?: { from: string; to: string }): RoomServerMessage {
  return { c: 200, s: 'PUBLISH_LIST_CHANGED', b: { pps, rid, admin, cause, ...(adminChanged ? { adminChanged } : {}) } }
}

/** The signal object (`data`) of `s` from `session` in `rid`. */
export function signal(s: string, session: RoomSession, rid: string, ch: RoomType, more: Record<string, unknown> = {}): Record<string, unknown> {
  return { s, ch, ss: session, rid, ...more }
}

/**
 * A fake world: one app's Rooms registry, connections by name (each anonymous unless
 * `identify` names its user), every room message each connection received, users'
 * profiles, and a clock. Each frame arrives `step` ms after the previous one.
 */
export function world({ step = 10, timings = DEFAULT_ROOM_TIMINGS, sfu = false }: { step?: number; timings?: RoomTimings; sfu?: boolean } = {}) {
  const rooms = new Rooms(timings)
  const inbox = new Map<string, RoomServerMessage[]>()
  const identities = new Map<string, string | null>()
  /** userId → profile (what the host reads from user metadata). */
  const profiles = new Map<string, RoomProfile>()
  let profileOf: ((userId: string) => RoomProfile) | undefined = (userId) => profiles.get(userId) ?? {}
  let nextId = 1
  let now = 1000
  /** An SFU seat at connection 'sfu' (when `sfu`): it offers `sdp-<n>`, or refuses while `sfuRefusal` is set. */
  let sfuRefusal: string | null = null
  let offers = 0
  const seat = sfu ? { conn: 'sfu', offer: () => (sfuRefusal ? { refused: sfuRefusal } : { sdp: `sdp-${++offers}` }) } : undefined
  const record = (fx: Effects) => {
    for (const { to, event } of fx.sends) {
      if (event.kind !== 'room') throw new Error(`unexpected event ${event.kind}`)
      for (const conn of to) inbox.set(conn, [...(inbox.get(conn) ?? []), event.msg])
    }
  }
  /** userIds logged in to the app (anonymous connections may not speak as them). */
  const users = new Set<string>()
  const api = {
    rooms,
    profiles,
    users,
    get now() { return now },
    /** The connection's user: what its login or verified token says (null: anonymous, the default). */
    identify(conn: string, userId: string | null) {
      identities.set(conn, userId)
    },
    /** Replaces the host's profile lookup (e.g. one that throws). */
    setProfileOf(lookup: ((userId: string) => RoomProfile) | undefined) {
      profileOf = lookup
    },
    /** Sends a raw `{action, data}` frame; returns the ack and only what this frame caused. */
    raw(conn: string, frame: unknown) {
      now += step
      const fx = new Effects()
      const context = { userId: identities.get(conn) ?? null, newId: `fake-${nextId++}`, iceUrls: ICE_URLS, profileOf, isUser: (userId: string) => users.has(userId), sfu: seat }
      const ack = rooms.handle(conn, parseRoomFrame(frame), context, fx, now)
      record(fx)
      return { ack, out: byConn(fx), sends: fx.sends }
    },
    send(conn: string, action: string, data: Record<string, unknown>) {
      return api.raw(conn, { action, data })
    },
    /** JOIN `rid` as `session`; `creating` sets op.roomCreating. */
    join(conn: string, session: RoomSession, rid: string, ch: RoomType, { creating = false, ve = true, ae = true, faking = false, eg = 'native' } = {}) {
      return api.send(conn, 'join', { s: 'JOIN', ch, ss: session, rid, ve, ae, eg, op: { roomCreating: creating, userFaking: faking } })
    },
    /** The SFU seat refuses offers with this reason (null: it offers again). */
    refuseSfu(reason: string | null) {
      sfuRefusal = reason
    },
    /** A signal from the SFU to one member, as the host hands it in. */
    fromSfu(rid: string, to: string, signal: { s: 'ANSWER' | 'NOTIFY' } & Record<string, unknown>) {
      now += step
      const fx = new Effects()
      rooms.fromSfu(rid, to, signal, fx, now)
      record(fx)
      return { out: byConn(fx), sends: fx.sends }
    },
    /** Sends signal `s` from `session` (the envelope's action is the table's for `s`). */
    signal(conn: string, s: RoomSignalName, session: RoomSession, rid: string, ch: RoomType, more: Record<string, unknown> = {}) {
      const action = (Object.keys(ACTION_SIGNALS) as RoomAction[]).find((name) => ACTION_SIGNALS[name] === s)!
      return api.send(conn, action, signal(s, session, rid, ch, more))
    },
    /** The connection closed. */
    drop(conn: string) {
      now += step
      const fx = new Effects()
      rooms.disconnect(conn, fx, now)
      record(fx)
      return { out: byConn(fx), sends: fx.sends }
    },
    /** Moves the clock and ticks, as the host does every 200 ms. */
    tick(ms: number) {
      now += ms
      const fx = new Effects()
      rooms.tick(fx, now)
      record(fx)
      return { out: byConn(fx), sends: fx.sends }
    },
    inbox(conn: string) { return inbox.get(conn) ?? [] },
    last(conn: string) { return api.inbox(conn).at(-1) },
  }
  return api
}

export type RoomWorld = ReturnType<typeof world>

/**
 * Room r1 of `type`: alice (conn a, `ss('alice')`) created it, bob (b) and carol (c) joined,
 * in that order — carol only when the room holds more than two (not p2p).
 */
export function threeIn(type: RoomType, options: Parameters<typeof world>[0] = {}): RoomWorld {
  const w = world(options)
  w.join('a', ss('alice'), 'r1', type, { creating: true })
  w.join('b', ss('bob'), 'r1', type)
  if (type !== 'p2p') w.join('c', ss('carol'), 'r1', type)
  return w
}
export type { RoomAck }

function byConn(fx: Output): Record<string, RoomServerMessage[]> {
  const out: Record<string, RoomServerMessage[]> = {}
  for (const { to, event } of fx.sends) for (const conn of to) if (event.kind === 'room') (out[conn] ??= []).push(event.msg)
  return out
}
