import { rtmError, type ErrorName } from '../protocol/errors'
import type { ArgsOf, Request } from '../protocol/requests'
import { AppEngine, DEFAULT_ENGINE_CONFIG, fail, type EngineConfig, type LoginContext, type Reply } from './app-engine'
import { Calls, type CallIdentity } from './calls'
import { Effects, type ConnId, type Output, type Write } from './effects'
import type { ParsedCallMessage } from '../protocol/calls'
import { ROOM_CODES, roomCodeName, type RoomAck } from '../protocol/room-codes'
import type { ParsedRoomFrame } from '../protocol/rooms'
import { PerApp } from './per-app'
import { Rooms } from './rooms'
import type { SfuSeat } from './room-model'
import type { PeerSignalName } from '../protocol/room-codes'
import { newSharedQuota } from './quota'
import { isValidName } from './validate'

export interface Handled extends Output {
  /** null: the request waits (acquireLock with retry); its answer comes in a later output's `replies`. */
  reply: Reply | null
}

/** Durable keys are per app: `app/<appId>/<engine key>` (the appId escaped, so it cannot contain '/'). */
const APP_PREFIX = 'app/'

/**
 * THE coordinator: a pure state machine over every app's engine. Hosts (the relay, a
 * coordinator tab) feed it connections, requests and the clock, and carry out its output.
 */
export class Coordinator {
  private readonly apps = new Map<string, AppEngine>()
  private readonly connApp = new Map<ConnId, AppEngine>()
  /** Last metadata revision of apps dropped while idle: a new engine continues above it. */
  private readonly revisionFloor = new Map<string, number>()
  /** Seed 002 calls: one sId namespace per app; a connection's registry is its identity's app. */
  private readonly calls: PerApp<Calls>
  /** Seed 003 rooms: one registry per app, as for calls. */
  private readonly rooms: PerApp<Rooms>

  /** Metadata and locks of every app together (quota.ts): anyone may name a new app. */
  private readonly quota: ReturnType<typeof newSharedQuota>

  constructor(private readonly config: EngineConfig = DEFAULT_ENGINE_CONFIG) {
    this.quota = newSharedQuota(config.historyMaxBytes)
    this.calls = new PerApp(() => new Calls({ graceMs: config.callGraceMs, ringTimeoutMs: config.callRingTimeoutMs }))
    this.rooms = new PerApp(() => new Rooms({ heartbeatTimeoutMs: config.roomHeartbeatTimeoutMs, publisherCap: config.roomPublisherCap }))
  }

  login(conn: ConnId, args: ArgsOf<'login'>, context: LoginContext, now: number): Handled {
    const fx = new Effects()
    if (!isValidName(args.appId)) return { ...fx, reply: fail(rtmError('INVALID_APP_ID', 'login', 'appId must be 1–64 printable ASCII characters')) }
    const bound = this.connApp.get(conn)
    if (bound && bound.appId !== args.appId) return { ...fx, reply: fail(rtmError('INCONSISTENT_APPID', 'login')) }
    const app = this.appFor(args.appId)
    const reply = app.login(conn, args, context, fx, now)
    if (reply.ok) this.connApp.set(conn, app)
    this.forgetClosed(fx)
    return { ...fx, reply, writes: prefixed(app.appId, fx.writes) }
  }

  renewToken(conn: ConnId, tokenExpiresAt: number | null): Handled {
    const app = this.connApp.get(conn)
    const reply = app ? app.renewToken(conn, tokenExpiresAt) : fail(rtmError('NOT_LOGIN', 'renewToken'))
    return { ...new Effects(), reply }
  }

  /** `id` is the client's request id: unique per SDK instance, reused when a request is resent. */
  handle(conn: ConnId, id: number, request: Exclude<Request, { op: 'login' | 'renewToken' }>, now: number): Handled {
    const fx = new Effects()
    const app = this.connApp.get(conn)
    // A logout is deliberate: its calls end now, without the grace a dropped link gets.
    if (app && request.op === 'logout') {
      this.calls.ofConn(conn)?.disconnect(conn, fx, now, true)
      // Its room sessions were the user's: they leave with the login.
      this.rooms.disconnect(conn, fx, now)
    }
    const reply = app ? app.handle(conn, id, request, fx, now) : fail(rtmError('NOT_LOGIN', request.op, 'log in first'))
    this.forgetClosed(fx)
    return { ...fx, reply, writes: app ? prefixed(app.appId, fx.writes) : fx.writes }
  }

  /**
   * One seed-002 call frame. The answers (and any error) go out as `call` events; the
   * reply acknowledges the frame, or carries the error for callers that await it.
   * `identity` is who the host knows the connection to be (its login, or its /ws/calls
   * upgrade); null — a native connection not logged in — is NOT_LOGIN.
   */
  call(conn: ConnId, input: ParsedCallMessage, context: { newId: string; identity: CallIdentity | null }, now: number): Handled {
    const fx = new Effects()
    const { identity, newId } = context
    if (!identity) return { ...fx, reply: fail(rtmError('NOT_LOGIN', 'call', 'log in before using calls')) }
    const calls = this.calls.bind(conn, identity.appId, fx, now)
    const app = this.apps.get(identity.appId)
    const isUser = (sId: string) => app?.sessions.has(sId) ?? false
    const failure = calls.handle(conn, input, { newId, userId: identity.userId, isUser }, fx, now)
    // The call table (protocol/calls.ts) has positive codes, apart from seed 000's negative ones.
    const reply: Reply = failure
      ? { ok: false, error: { error: true, errorCode: failure.msg.code, name: failure.name as unknown as ErrorName, reason: failure.msg.message, operation: 'call' } }
      : { ok: true, result: {} }
    return { ...fx, reply }
  }

  /**
   * One seed-003 room frame (native op `room`, or a /ws/rooms frame). Pushes and forwarded
   * signals go out as `room` events; the reply carries the ack — `{ok:true, result: ack}` for
   * a 200, else the error with the ack's code — and `ack` is the ack itself (what /ws/rooms
   * writes). `identity` is who the host knows the connection to be (its login, or its
   * /ws/rooms upgrade); null — a native connection not logged in — is 2001.
   */
  room(conn: ConnId, parsed: ParsedRoomFrame, context: { newId: string; identity: CallIdentity | null; iceUrls: string[]; sfu?: SfuSeat }, now: number): Handled & { ack: RoomAck } {
    const fx = new Effects()
    const { identity, newId, iceUrls, sfu } = context
    let ack: RoomAck
    if (!identity) {
      const s = parsed.ok ? parsed.signal.s : parsed.s
      ack = { c: ROOM_CODES.INVALID_SIGNAL, s, b: { req: parsed.req, msg: 'log in before using rooms' } }
    } else {
      const rooms = this.rooms.bind(conn, identity.appId, fx, now)
      const app = this.apps.get(identity.appId)
      const profileOf = (userId: string) => app?.storage.profileOf(userId) ?? {}
      const isUser = (userId: string) => app?.sessions.has(userId) ?? false
      ack = rooms.handle(conn, parsed, { userId: identity.userId, newId, iceUrls, profileOf, isUser, sfu }, fx, now)
    }
    // The room table (protocol/room-codes.ts) is seed 003's, apart from seed 000's error names.
    const reply: Reply = ack.c === ROOM_CODES.OK
      ? { ok: true, result: ack }
      : { ok: false, error: { error: true, errorCode: ack.c, name: roomCodeName(ack.c) as unknown as ErrorName, reason: String(ack.b.msg), operation: 'room' } }
    return { ...fx, reply, ack }
  }

  /** A signal from the app's SFU (`SfuSeat.conn`) to one member of one of its rooms. */
  fromSfu(appId: string, rid: string, to: string, signal: { s: PeerSignalName } & Record<string, unknown>, now: number): Output {
    const fx = new Effects()
    this.rooms.of(appId)?.fromSfu(rid, to, signal, fx, now)
    return fx
  }

  /** The host saw the connection go away (socket closed, tab gone). */
  disconnect(conn: ConnId, now: number): Output {
    const fx = new Effects()
    this.calls.disconnect(conn, fx, now)
    this.rooms.disconnect(conn, fx, now)
    const app = this.connApp.get(conn)
    app?.connectionLost(conn, now)
    this.connApp.delete(conn)
    if (app) fx.writes = prefixed(app.appId, fx.writes)
    return fx
  }

  tick(now: number): Output {
    const fx = new Effects()
    const writes: Write[] = []
    for (const [appId, app] of this.apps) {
      const before = fx.writes.length
      app.tick(fx, now)
      writes.push(...prefixed(appId, fx.writes.slice(before)))
      if (app.idle) {
        this.revisionFloor.set(appId, app.storage.lastRevision)
        this.apps.delete(appId)
      }
    }
    fx.writes = writes
    this.forgetClosed(fx)
    // Held-back `clu` lists go out, silent room sessions time out; registries nobody uses any more are dropped.
    this.calls.tick(fx, now)
    this.rooms.tick(fx, now)
    return fx
  }

  /** The call registry of an app, if any of its connections used calls. */
  callsOf(appId: string): Calls | undefined {
    return this.calls.of(appId)
  }

  /** The room registry of an app, if any of its connections used rooms. */
  roomsOf(appId: string): Rooms | undefined {
    return this.rooms.of(appId)
  }

  /** Connections with a logged-in session, across apps. */
  get connectedSessions(): number {
    let count = 0
    for (const app of this.apps.values()) count += app.connectedCount
    return count
  }

  /** Who is logged in on a connection, if anyone. */
  userOf(conn: ConnId): { appId: string; userId: string } | null {
    const app = this.connApp.get(conn)
    const session = app?.byConn.get(conn)
    return app && session ? { appId: app.appId, userId: session.userId } : null
  }

  /** Rebuilds durable state (metadata, locks) from the store after a restart. */
  restore(entries: Write[]): void {
    // Sessions and presence are not durable by design; metadata and locks are.
    const byApp = new Map<string, Write[]>()
    for (const entry of entries) {
      if (!entry.key.startsWith(APP_PREFIX)) continue
      const slash = entry.key.indexOf('/', APP_PREFIX.length)
      if (slash < 0) continue
      const appId = decodeURIComponent(entry.key.slice(APP_PREFIX.length, slash))
      const list = byApp.get(appId) ?? []
      list.push({ key: entry.key.slice(slash + 1), value: entry.value })
      byApp.set(appId, list)
    }
    for (const [appId, list] of byApp) this.appFor(appId).restore(list)
  }

  app(appId: string): AppEngine | undefined {
    return this.apps.get(appId)
  }

  private appFor(appId: string): AppEngine {
    let app = this.apps.get(appId)
    if (!app) {
      app = new AppEngine(appId, this.config, this.quota)
      app.storage.lastRevision = this.revisionFloor.get(appId) ?? 0
      this.revisionFloor.delete(appId)
      this.apps.set(appId, app)
    }
    return app
  }

  private forgetClosed(fx: Effects): void {
    // Every engine path that closes a connection has already detached its session.
    for (const { conn } of fx.closes) this.connApp.delete(conn)
  }
}

function prefixed(appId: string, writes: Write[]): Write[] {
  return writes.map(({ key, value }) => ({ key: `${APP_PREFIX}${encodeURIComponent(appId)}/${key}`, value }))
}
