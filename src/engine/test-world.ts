import type { ServerEvent } from '../protocol/events'
import type { Request } from '../protocol/requests'
import { DEFAULT_ENGINE_CONFIG, type Reply } from './app-engine'
import { Coordinator, type Handled } from './coordinator'
import type { Output, Write } from './effects'

/** A request the engine handles after login. */
export type EngineRequest = Exclude<Request, { op: 'login' | 'renewToken' }>

/**
 * A fake world for engine tests: one coordinator, a clock moved by hand, every event and
 * late reply delivered per connection, and the durable store as the host would keep it
 * (writes applied in order). No mocks: the coordinator is the real one.
 */
export class TestWorld {
  readonly coordinator: Coordinator
  now = 1_000_000
  readonly inbox = new Map<string, ServerEvent[]>()
  /** Replies that arrived later (acquireLock with retry), per connection, by request id. */
  readonly lateReplies = new Map<string, Map<number, Reply>>()
  readonly store = new Map<string, unknown>()
  /** Far above the ids tests pick by hand, so that those never collide with generated ones. */
  private nextId = 1_000_000
  private nextKey = 1
  readonly resumeKeys = new Map<string, string>()

  constructor(entries: Write[] = []) {
    this.coordinator = new Coordinator(DEFAULT_ENGINE_CONFIG)
    this.coordinator.restore(entries)
  }

  login(conn: string, userId: string, extra: Partial<Extract<Request, { op: 'login' }>['args']> = {}): Reply {
    const handled = this.coordinator.login(conn, { appId: 'app', userId, heartbeatInterval: 1800, ...extra }, { tokenExpiresAt: null, newResumeKey: `key-${this.nextKey++}` }, this.now)
    this.record(handled)
    if (handled.reply?.ok) this.resumeKeys.set(userId, String(handled.reply.result.resumeKey))
    return handled.reply!
  }

  /** Logs in again with the resume key of `userId`'s last login (a reconnect within presenceTimeout). */
  resume(conn: string, userId: string): Reply {
    return this.login(conn, userId, { resumeKey: this.resumeKeys.get(userId) })
  }

  /** Sends a request; null when it waits for a later answer. */
  send(conn: string, request: EngineRequest, id = this.nextId++): Reply | null {
    const handled = this.coordinator.handle(conn, id, request, this.now)
    this.record(handled)
    return handled.reply
  }

  /** Sends a request that must answer now, and returns its result or throws its error. */
  ok(conn: string, request: EngineRequest): Record<string, unknown> {
    const reply = this.send(conn, request)
    if (!reply) throw new Error(`${request.op} did not answer`)
    if (!reply.ok) throw new Error(`${request.op} failed: ${reply.error.errorCode} ${reply.error.reason}`)
    return reply.result
  }

  /** The error code a request fails with (throws if it succeeds or waits). */
  code(conn: string, request: EngineRequest): number {
    const reply = this.send(conn, request)
    if (!reply || reply.ok) throw new Error(`${request.op} was expected to fail, got ${JSON.stringify(reply)}`)
    return reply.error.errorCode
  }

  drop(conn: string): void {
    this.record(this.coordinator.disconnect(conn, this.now))
  }

  advance(ms: number): void {
    this.now += ms
    this.record(this.coordinator.tick(this.now))
  }

  events<K extends ServerEvent['kind']>(conn: string, kind: K): Extract<ServerEvent, { kind: K }>[] {
    return (this.inbox.get(conn) ?? []).filter((event): event is Extract<ServerEvent, { kind: K }> => event.kind === kind)
  }

  clear(conn?: string): void {
    if (conn) this.inbox.delete(conn)
    else this.inbox.clear()
  }

  record(output: Output | Handled): void {
    for (const { key, value } of output.writes) {
      if (value === null) this.store.delete(key)
      else this.store.set(key, structuredClone(value))
    }
    for (const { to, event } of output.sends) for (const conn of to) this.inbox.set(conn, [...(this.inbox.get(conn) ?? []), event])
    for (const late of output.replies ?? []) {
      const replies = this.lateReplies.get(late.conn) ?? new Map<number, Reply>()
      replies.set(late.id, late.reply)
      this.lateReplies.set(late.conn, replies)
    }
  }

  /** What the host's store holds, as `restore` takes it. */
  entries(): Write[] {
    return [...this.store].map(([key, value]) => ({ key, value }))
  }
}
