import type { CallIdentity } from '../engine/calls'
import type { Coordinator, Handled } from '../engine/coordinator'
import type { ConnId, Output } from '../engine/effects'
import { bucketFor, rateExceeded, type Rate, type TokenBucket } from '../engine/rate-limit'
import { MAX_FRAME_DEPTH, checkShape } from '../protocol/bounds'
import { callRequestFrameSchema, parseCallMessage } from '../protocol/calls'
import { rtmError } from '../protocol/errors'
import type { ServerEvent, ServerFrame } from '../protocol/events'
import type { SfuSeat } from '../engine/room-model'
import type { PeerSignalName } from '../protocol/room-codes'
import { ROOM_CODES, isPeerSignal, parseRoomFrame, roomRequestFrameSchema, type ParsedRoomFrame, type RoomAck } from '../protocol/rooms'
import { parseRequestFrame, type Request } from '../protocol/requests'
import type { ConnectionSink, DurableStore, TokenVerifier } from './ports'

export interface HostOptions {
  coordinator: Coordinator
  sink: ConnectionSink
  store: DurableStore
  verifier: TokenVerifier
  now: () => number
  newResumeKey: () => string
  /** Ids for call sessions, generated sIds and faked room userIds (default: 16 random bytes, hex). */
  newId?: () => string
  /**
   * The ICE server URLs a room JOIN ack lists (seed 003 `b.es.icfg.is`), read at each JOIN:
   * URLs only, never credentials (a client gets those from its own ICE configuration). Default none.
   */
  iceUrls?: () => string[]
  /** Sees every frame in and out (logging, the UI's signal view). */
  trace?: (direction: 'in' | 'out', conn: ConnId | ConnId[], frame: unknown) => void
  /**
   * A commit failed. The engine already applied those writes and cannot take them back, so
   * from then on the host answers every request with STORAGE_OPERATION_FAILED and delivers
   * nothing. Runs once the requests in flight have their refusals; the owner should stop
   * the host and let a new coordinator load the store.
   */
  onStoreFailure?: (error: unknown) => void
  /** Requests per connection (default REQUEST_RATE); over it a request is answered -10021 and not run. */
  requestRate?: Rate
  /**
   * A bug surfaced while handling one connection's input or delivering to one recipient.
   * The host contains it (that input or that delivery is lost, nothing else) and reports it here.
   */
  onError?: (error: unknown, conn: ConnId | null) => void
  /** The relay's forwarding unit (rooms with `eg: 'sfu'`); without it every room is a browser mesh. */
  sfu?: SfuPort
}

/** What a host needs of a forwarding unit (src/relay/sfu/sfu-pool.ts). */
export interface SfuPort {
  /** The engine's view of it for one app's rooms. */
  seat(appId: string): SfuSeat
  /** Whether `conn` is a seat's: room events sent there go to `deliver`, not to a socket. */
  owns(conn: ConnId): boolean
  deliver(conn: ConnId, event: ServerEvent): void
  /** null when a JOIN into the room can be offered a receive connection at once; else settles when it can, or gave up waiting. */
  ready(appId: string, rid: string): Promise<void> | null
}

/**
 * Where a relay's edges (socket.io, /ws/calls, /ws/rooms, EasyRTC) hand their frames: one
 * coordinator host in a single process, or the cluster router in scaled mode.
 */
export interface FrameRouter {
  receive(conn: ConnId, raw: unknown): void
  receiveCall(conn: ConnId, raw: unknown, identity: CallIdentity): void
  receiveRoom(conn: ConnId, raw: unknown, identity: RoomIdentity): void
  disconnected(conn: ConnId): void
  tick(): void
  /** Resolves when every accepted output has been committed and delivered. */
  settled(): Promise<void>
  /** Who is logged in on a connection, if anyone. */
  userOf(conn: ConnId): { appId: string; userId: string } | null
  /** Connections with a logged-in session. */
  readonly connectedSessions: number
}

/** Requests per connection, any op (ours): a client cannot make the coordinator do unbounded work. */
export const REQUEST_RATE: Rate = { perSecond: 100, burst: 200 }

/**
 * Runs the pure coordinator for real: validates frames, verifies tokens, commits durable
 * writes before acknowledging, delivers events and closes connections. Shared by the relay
 * and by the coordinator tab; the clock and timers live in whoever calls `tick`.
 */
export class CoordinatorHost implements FrameRouter {
  /** Requests of one connection run in order even when one of them waits (token check). */
  private readonly connQueues = new Map<ConnId, Promise<void>>()
  /** Outputs are delivered in engine order; one carrying writes holds back the rest until durable. */
  private delivery: Promise<void> = Promise.resolve()
  private deliveryBacklog = 0
  /** Set once a commit failed: memory is ahead of the store, so nothing more leaves this host. */
  private storeFailure: { error: unknown } | null = null
  private readonly requestRates = new Map<ConnId, TokenBucket>()

  constructor(private readonly options: HostOptions) {}

  async start(): Promise<void> {
    const entries = await this.options.store.load()
    this.options.coordinator.restore(entries)
  }

  /** An untrusted frame from a connection. Never throws. */
  receive(conn: ConnId, raw: unknown): void {
    try {
      this.receiveFrame(conn, raw)
    } catch (error) {
      this.failed(error, conn)
    }
  }

  private receiveFrame(conn: ConnId, raw: unknown): void {
    const id = typeof (raw as { id?: unknown } | null)?.id === 'number' ? (raw as { id: number }).id : null
    const op = typeof (raw as { op?: unknown } | null)?.op === 'string' ? (raw as { op: string }).op.slice(0, 64) : 'unknown'
    // Deep values parse fine but overflow every recursive encoder that later touches them.
    const shape = checkShape(raw, MAX_FRAME_DEPTH)
    if (!shape.ok) return id === null ? undefined : this.reply(conn, id, { ok: false, error: rtmError('INVALID_PARAMETER', op, `frame ${shape.reason}`) })
    this.options.trace?.('in', conn, raw) // after the depth check: a trace may encode what it sees
    if (!this.rateFor(conn).take(this.options.now())) {
      return id === null ? undefined : this.reply(conn, id, { ok: false, error: rateExceeded(op, 'requests', this.options.requestRate ?? REQUEST_RATE) })
    }
    // Most frames are not calls: check op before paying for a failed call-schema parse.
    const call = op === 'call' ? callRequestFrameSchema.safeParse(raw) : null
    if (call?.success) return this.inOrder(conn, () => this.call(conn, call.data.args, call.data.id))
    const room = op === 'room' ? roomRequestFrameSchema.safeParse(raw) : null
    if (room?.success) return this.inOrder(conn, () => this.room(conn, room.data.args, room.data.id))
    const parsed = parseRequestFrame(raw)
    if (!parsed.ok) {
      if (parsed.id !== null) this.reply(conn, parsed.id, { ok: false, error: rtmError('INVALID_PARAMETER', parsed.op, parsed.reason) })
      return
    }
    if (this.storeFailure) return this.reply(conn, parsed.id, this.storeFailedReply(parsed.request.op))
    const queued = this.connQueues.get(conn)
    if (!queued && parsed.request.op !== 'login' && parsed.request.op !== 'renewToken') {
      this.process(conn, parsed.id, parsed.request)
      return
    }
    this.enqueue(conn, () => this.processAsync(conn, parsed.id, parsed.request))
  }

  /**
   * A seed-002 call frame from a raw call socket (/ws/calls): answers are events only.
   * `identity` is what the socket's upgrade established (its app, and its user if any).
   */
  receiveCall(conn: ConnId, raw: unknown, identity: CallIdentity): void {
    this.options.trace?.('in', conn, raw)
    this.inOrder(conn, () => this.call(conn, raw, undefined, identity))
  }

  /**
   * A seed-003 `{action, data}` frame from a raw room socket (/ws/rooms). Its ack comes back
   * as a `room` event to `conn` (a raw socket has no request ids), before the pushes it caused.
   * `identity` is what the socket's upgrade established (its app, and its user if any).
   */
  receiveRoom(conn: ConnId, raw: unknown, identity: RoomIdentity): void {
    this.options.trace?.('in', conn, raw)
    this.inOrder(conn, () => this.room(conn, raw, undefined, identity))
  }

  disconnected(conn: ConnId): void {
    this.requestRates.delete(conn)
    this.guarded(conn, () => {
      if (!this.storeFailure) this.apply(this.options.coordinator.disconnect(conn, this.options.now()))
    })
  }

  tick(): void {
    this.guarded(null, () => {
      if (!this.storeFailure) this.apply(this.options.coordinator.tick(this.options.now()))
    })
  }

  userOf(conn: ConnId): { appId: string; userId: string } | null {
    return this.options.coordinator.userOf(conn)
  }

  get connectedSessions(): number {
    return this.options.coordinator.connectedSessions
  }

  /** Resolves when every accepted output has been committed and delivered. */
  async settled(): Promise<void> {
    while (this.deliveryBacklog > 0) await this.delivery
  }

  /** A native `call` op (no `identity`: the connection's login is its identity) or a raw call socket's frame. */
  private call(conn: ConnId, raw: unknown, id?: number, identity?: CallIdentity): void {
    if (this.storeFailure) return id === undefined ? undefined : this.reply(conn, id, this.storeFailedReply('call'))
    const newId = this.options.newId ?? randomId
    const known = identity ?? this.options.coordinator.userOf(conn)
    const handled = this.options.coordinator.call(conn, parseCallMessage(raw), { newId: newId(), identity: known }, this.options.now())
    this.apply(handled, id === undefined ? undefined : conn, id)
  }

  /** A signal from the forwarding unit to one member of an app's room (SfuPort's worker → engine). */
  receiveSfu(appId: string, rid: string, to: string, signal: { s: PeerSignalName } & Record<string, unknown>): void {
    this.guarded(null, () => this.apply(this.options.coordinator.fromSfu(appId, rid, to, signal, this.options.now())))
  }

  /** A native `room` op (`id`; the connection's login is its identity) or a raw room socket's frame (`identity`). */
  private room(conn: ConnId, raw: unknown, id?: number, identity?: RoomIdentity): void {
    if (this.storeFailure) return id === undefined ? undefined : this.reply(conn, id, this.storeFailedReply('room'))
    const parsed = parseRoomFrame(raw)
    const known = identity ?? this.options.coordinator.userOf(conn)
    // A JOIN that will take one of the SFU's receive connections waits (in the connection's order) until one is offered.
    const waiting = known && parsed.ok && parsed.signal.s === 'JOIN' ? this.sfuReady(known.appId, parsed.signal.rid, parsed.signal.eg) : null
    if (waiting) return this.enqueue(conn, () => waiting.then(() => this.roomNow(conn, parsed, id, identity)))
    this.roomNow(conn, parsed, id, identity)
  }

  private sfuReady(appId: string, rid: string, eg: string): Promise<void> | null {
    const { sfu, coordinator } = this.options
    if (!sfu) return null
    const existing = coordinator.roomsOf(appId)?.room(rid)
    return (existing ? existing.engine === 'sfu' : eg === 'sfu') ? sfu.ready(appId, rid) : null
  }

  private roomNow(conn: ConnId, parsed: ParsedRoomFrame, id?: number, identity?: RoomIdentity): void {
    if (this.storeFailure) return id === undefined ? undefined : this.reply(conn, id, this.storeFailedReply('room'))
    const known = identity ?? this.options.coordinator.userOf(conn)
    const context = {
      newId: (this.options.newId ?? randomId)(),
      identity: known,
      iceUrls: this.options.iceUrls?.() ?? [],
      sfu: known ? this.options.sfu?.seat(known.appId) : undefined,
    }
    const handled = this.options.coordinator.room(conn, parsed, context, this.options.now())
    if (id !== undefined) return this.apply(handled, conn, id)
    const ack = rawRoomAck(parsed, handled.ack)
    const sends = ack ? [{ to: [conn], event: { kind: 'room' as const, msg: ack, timestamp: this.options.now() } }, ...handled.sends] : handled.sends
    this.apply({ ...handled, reply: null, sends })
  }

  /** Runs now, or after the connection's queued requests (a login waiting on its token check). */
  private inOrder(conn: ConnId, run: () => void): void {
    if (!this.connQueues.has(conn)) return this.guarded(conn, run)
    this.enqueue(conn, run)
  }

  /** Queues `run` behind the connection's earlier requests; a failure is contained and reported. */
  private enqueue(conn: ConnId, run: () => void | Promise<void>): void {
    const next: Promise<void> = (this.connQueues.get(conn) ?? Promise.resolve())
      .then(run)
      .catch((error: unknown) => this.failed(error, conn))
      .finally(() => {
        if (this.connQueues.get(conn) === next) this.connQueues.delete(conn)
      })
    this.connQueues.set(conn, next)
  }

  private guarded(conn: ConnId | null, run: () => void): void {
    try {
      run()
    } catch (error) {
      this.failed(error, conn)
    }
  }

  private failed(error: unknown, conn: ConnId | null): void {
    if (this.options.onError) this.options.onError(error, conn)
    else console.error('coordinator host:', error)
  }

  private rateFor(conn: ConnId): TokenBucket {
    let bucket = this.requestRates.get(conn)
    if (!bucket) this.requestRates.set(conn, (bucket = bucketFor(this.options.requestRate ?? REQUEST_RATE)))
    return bucket
  }

  private process(conn: ConnId, id: number, request: Exclude<Request, { op: 'login' | 'renewToken' }>): void {
    const handled = this.options.coordinator.handle(conn, id, request, this.options.now())
    this.apply(handled, conn, id)
  }

  private async processAsync(conn: ConnId, id: number, request: Request): Promise<void> {
    const { coordinator, verifier, now } = this.options
    if (request.op === 'login') {
      const check = await verifier.verify(request.args.token, request.args.appId, request.args.userId, 'login', conn)
      if (!check.ok) return this.reply(conn, id, { ok: false, error: check.error })
      const handled = coordinator.login(conn, request.args, { tokenExpiresAt: check.expiresAt, newResumeKey: this.options.newResumeKey() }, now())
      return this.apply(handled, conn, id)
    }
    if (request.op === 'renewToken') {
      const userId = coordinator.userOf(conn)
      if (userId === null) return this.reply(conn, id, { ok: false, error: rtmError('NOT_LOGIN', 'renewToken') })
      const check = await verifier.verify(request.args.token, userId.appId, userId.userId, 'renewToken', conn)
      if (!check.ok) return this.reply(conn, id, { ok: false, error: check.error })
      return this.apply(coordinator.renewToken(conn, check.expiresAt), conn, id)
    }
    this.process(conn, id, request)
  }

  private apply(output: Output | Handled, conn?: ConnId, id?: number): void {
    const deliver = () => {
      if ('reply' in output && output.reply && conn !== undefined && id !== undefined) this.reply(conn, id, output.reply)
      // Answers to requests that waited (acquireLock with retry), decided by this output.
      for (const late of output.replies ?? []) this.reply(late.conn, late.id, late.reply)
      for (const { to, event } of output.sends) this.emit(to, { t: 'evt', event })
      for (const { conn: closed, reason } of output.closes) this.options.sink.close(closed, reason)
    }
    if (output.writes.length === 0 && this.deliveryBacklog === 0) return deliver()
    this.deliveryBacklog++
    const writes = output.writes
    this.delivery = this.delivery
      .then(async () => {
        // Whatever was decided after a lost write may have seen it: none of it leaves.
        if (this.storeFailure) return false
        if (writes.length) await this.options.store.commit(writes)
        return true
      })
      .catch((error: unknown) => {
        this.storeFailure = { error }
        void this.settled().then(() => this.options.onStoreFailure?.(error))
        return false
      })
      .then((durable) => {
        if (durable) return deliver()
        // Not durable → not acknowledged: the client sees the failure.
        if ('reply' in output && output.reply && conn !== undefined && id !== undefined) this.reply(conn, id, this.storeFailedReply('commit'))
      })
      // A delivery bug must neither stop later deliveries nor pass for a failed commit.
      .catch((error: unknown) => this.failed(error, conn ?? null))
      .finally(() => { this.deliveryBacklog-- })
  }

  private storeFailedReply(operation: string): Handled['reply'] {
    const reason = `the coordinator could not store a write (${String(this.storeFailure?.error)}) and is stopping; reconnect to its successor`
    return { ok: false, error: rtmError('STORAGE_OPERATION_FAILED', operation, reason) }
  }

  private reply(conn: ConnId, id: number, reply: Handled['reply']): void {
    this.emit([conn], { t: 'res', id, ...reply } as ServerFrame)
  }

  /** One recipient's failure (a bug in a codec, a socket that throws) never costs the others their frame. */
  private emit(to: ConnId[], frame: ServerFrame): void {
    const { sfu } = this.options
    if (sfu && frame.t === 'evt' && frame.event.kind === 'room' && to.some((conn) => sfu.owns(conn))) {
      for (const conn of to.filter((each) => sfu.owns(each))) this.guarded(conn, () => sfu.deliver(conn, frame.event))
      to = to.filter((conn) => !sfu.owns(conn))
      if (to.length === 0) return
    }
    this.options.trace?.('out', to, frame)
    try {
      this.options.sink.send(to, frame)
    } catch (error) {
      if (to.length === 1) return this.failed(error, to[0])
      for (const conn of to) this.guarded(conn, () => this.options.sink.send([conn], frame))
    }
  }
}

/** Who a raw room socket is: its app, and its user when the upgrade named or verified one. */
export interface RoomIdentity { appId: string; userId: string | null }

/**
 * The ack a raw room socket is written, or null for none: seed 003 acks HEARTBEAT only when
 * `send_ack` asks, and our peer signals (OFFER/ANSWER/CANDIDATE/NOTIFY) are acked only when refused.
 */
export function rawRoomAck(parsed: ParsedRoomFrame, ack: RoomAck): RoomAck | null {
  if (ack.c !== ROOM_CODES.OK || !parsed.ok) return ack
  const { signal } = parsed
  if (isPeerSignal(signal.s)) return null
  if (signal.s === 'HEARTBEAT' && !signal.send_ack) return null
  return ack
}

function randomId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}
