import type { Coordinator, Handled } from '../engine/coordinator'
import type { ConnId, Output } from '../engine/effects'
import { callRequestFrameSchema, parseCallMessage } from '../protocol/calls'
import { rtmError } from '../protocol/errors'
import type { ServerFrame } from '../protocol/events'
import { parseRequestFrame, type Request } from '../protocol/requests'
import type { ConnectionSink, DurableStore, TokenVerifier } from './ports'

export interface HostOptions {
  coordinator: Coordinator
  sink: ConnectionSink
  store: DurableStore
  verifier: TokenVerifier
  now: () => number
  newResumeKey: () => string
  /** Ids for call sessions and generated sIds (default: 16 random bytes, hex). */
  newId?: () => string
  /** Sees every frame in and out (logging, the UI's signal view). */
  trace?: (direction: 'in' | 'out', conn: ConnId | ConnId[], frame: unknown) => void
  /**
   * A commit failed. The engine already applied those writes and cannot take them back, so
   * from then on the host answers every request with STORAGE_OPERATION_FAILED and delivers
   * nothing. Runs once the requests in flight have their refusals; the owner should stop
   * the host and let a new coordinator load the store.
   */
  onStoreFailure?: (error: unknown) => void
}

/**
 * Runs the pure coordinator for real: validates frames, verifies tokens, commits durable
 * writes before acknowledging, delivers events and closes connections. Shared by the relay
 * and by the coordinator tab; the clock and timers live in whoever calls `tick`.
 */
export class CoordinatorHost {
  /** Requests of one connection run in order even when one of them waits (token check). */
  private readonly connQueues = new Map<ConnId, Promise<void>>()
  /** Outputs are delivered in engine order; one carrying writes holds back the rest until durable. */
  private delivery: Promise<void> = Promise.resolve()
  private deliveryBacklog = 0
  /** Set once a commit failed: memory is ahead of the store, so nothing more leaves this host. */
  private storeFailure: { error: unknown } | null = null

  constructor(private readonly options: HostOptions) {}

  async start(): Promise<void> {
    const entries = await this.options.store.load()
    this.options.coordinator.restore(entries)
  }

  /** An untrusted frame from a connection. Never throws. */
  receive(conn: ConnId, raw: unknown): void {
    this.options.trace?.('in', conn, raw)
    // Most frames are not calls: check op before paying for a failed call-schema parse.
    const call = (raw as { op?: unknown } | null)?.op === 'call' ? callRequestFrameSchema.safeParse(raw) : null
    if (call?.success) return this.inOrder(conn, () => this.call(conn, call.data.args, call.data.id))
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
    const next = (queued ?? Promise.resolve())
      .then(() => this.processAsync(conn, parsed.id, parsed.request))
      .finally(() => {
        if (this.connQueues.get(conn) === next) this.connQueues.delete(conn)
      })
    this.connQueues.set(conn, next)
  }

  /** A seed-002 call frame from a raw call socket (/ws/calls): answers are events only. */
  receiveCall(conn: ConnId, raw: unknown): void {
    this.options.trace?.('in', conn, raw)
    this.inOrder(conn, () => this.call(conn, raw))
  }

  disconnected(conn: ConnId): void {
    if (!this.storeFailure) this.apply(this.options.coordinator.disconnect(conn, this.options.now()))
  }

  tick(): void {
    if (!this.storeFailure) this.apply(this.options.coordinator.tick(this.options.now()))
  }

  /** Resolves when every accepted output has been committed and delivered. */
  async settled(): Promise<void> {
    while (this.deliveryBacklog > 0) await this.delivery
  }

  private call(conn: ConnId, raw: unknown, id?: number): void {
    if (this.storeFailure) return id === undefined ? undefined : this.reply(conn, id, this.storeFailedReply('call'))
    const newId = this.options.newId ?? randomId
    const handled = this.options.coordinator.call(conn, parseCallMessage(raw), { newId: newId() }, this.options.now())
    this.apply(handled, id === undefined ? undefined : conn, id)
  }

  /** Runs now, or after the connection's queued requests (a login waiting on its token check). */
  private inOrder(conn: ConnId, run: () => void): void {
    const queued = this.connQueues.get(conn)
    if (!queued) return run()
    const next = queued.then(run).finally(() => {
      if (this.connQueues.get(conn) === next) this.connQueues.delete(conn)
    })
    this.connQueues.set(conn, next)
  }

  private process(conn: ConnId, id: number, request: Exclude<Request, { op: 'login' | 'renewToken' }>): void {
    const handled = this.options.coordinator.handle(conn, id, request, this.options.now())
    this.apply(handled, conn, id)
  }

  private async processAsync(conn: ConnId, id: number, request: Request): Promise<void> {
    const { coordinator, verifier, now } = this.options
    if (request.op === 'login') {
      const check = await verifier.verify(request.args.token, request.args.appId, request.args.userId, 'login')
      if (!check.ok) return this.reply(conn, id, { ok: false, error: check.error })
      const handled = coordinator.login(conn, request.args, { tokenExpiresAt: check.expiresAt, newResumeKey: this.options.newResumeKey() }, now())
      return this.apply(handled, conn, id)
    }
    if (request.op === 'renewToken') {
      const userId = coordinator.userOf(conn)
      if (userId === null) return this.reply(conn, id, { ok: false, error: rtmError('NOT_LOGIN', 'renewToken') })
      const check = await verifier.verify(request.args.token, userId.appId, userId.userId, 'renewToken')
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
      .finally(() => { this.deliveryBacklog-- })
  }

  private storeFailedReply(operation: string): Handled['reply'] {
    const reason = `the coordinator could not store a write (${String(this.storeFailure?.error)}) and is stopping; reconnect to its successor`
    return { ok: false, error: rtmError('STORAGE_OPERATION_FAILED', operation, reason) }
  }

  private reply(conn: ConnId, id: number, reply: Handled['reply']): void {
    this.emit([conn], { t: 'res', id, ...reply } as ServerFrame)
  }

  private emit(to: ConnId[], frame: ServerFrame): void {
    this.options.trace?.('out', to, frame)
    this.options.sink.send(to, frame)
  }
}

function randomId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}
