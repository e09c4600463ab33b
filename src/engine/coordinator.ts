import { rtmError, type ErrorName } from '../protocol/errors'
import type { ArgsOf, Request } from '../protocol/requests'
import { AppEngine, DEFAULT_ENGINE_CONFIG, fail, type EngineConfig, type LoginContext, type Reply } from './app-engine'
import { Calls, type CallContext } from './calls'
import { Effects, type ConnId, type Output, type Write } from './effects'
import type { ParsedCallMessage } from '../protocol/calls'
import { isValidName } from './validate'

export interface Handled extends Output {
  reply: Reply
}

/**
 * THE coordinator: a pure state machine over every app's engine. Hosts (the relay, a
 * coordinator tab) feed it connections, requests and the clock, and carry out its output.
 */
export class Coordinator {
  private readonly apps = new Map<string, AppEngine>()
  private readonly connApp = new Map<ConnId, AppEngine>()
  /** Seed 002 calls: one sId namespace per coordinator, reachable without an RTM login. */
  readonly calls = new Calls()

  constructor(private readonly config: EngineConfig = DEFAULT_ENGINE_CONFIG) {}

  login(conn: ConnId, args: ArgsOf<'login'>, context: LoginContext, now: number): Handled {
    const fx = new Effects()
    if (!isValidName(args.appId)) return { ...fx, reply: fail(rtmError('INVALID_APP_ID', 'login', 'appId must be 1–64 printable ASCII characters')) }
    const bound = this.connApp.get(conn)
    if (bound && bound.appId !== args.appId) return { ...fx, reply: fail(rtmError('INCONSISTENT_APPID', 'login')) }
    let app = this.apps.get(args.appId)
    if (!app) {
      app = new AppEngine(args.appId, this.config)
      this.apps.set(args.appId, app)
    }
    const reply = app.login(conn, args, context, fx, now)
    if (reply.ok) this.connApp.set(conn, app)
    this.forgetClosed(fx)
    return { ...fx, reply }
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
    const reply = app ? app.handle(conn, id, request, fx, now) : fail(rtmError('NOT_LOGIN', request.op, 'log in first'))
    this.forgetClosed(fx)
    return { ...fx, reply }
  }

  /**
   * One seed-002 call frame. The answers (and any error) go out as `call` events; the
   * reply acknowledges the frame, or carries the error for callers that await it.
   */
  call(conn: ConnId, input: ParsedCallMessage, context: CallContext, now: number): Handled {
    const fx = new Effects()
    const preferredSId = context.preferredSId ?? this.userOf(conn)?.userId
    const failure = this.calls.handle(conn, input, { ...context, preferredSId }, fx, now)
    // The call table (protocol/calls.ts) has positive codes, apart from seed 000's negative ones.
    const reply: Reply = failure
      ? { ok: false, error: { error: true, errorCode: failure.msg.code, name: failure.name as unknown as ErrorName, reason: failure.msg.message, operation: 'call' } }
      : { ok: true, result: {} }
    return { ...fx, reply }
  }

  /** The host saw the connection go away (socket closed, tab gone). */
  disconnect(conn: ConnId, now: number): Output {
    const fx = new Effects()
    this.calls.disconnect(conn, fx, now)
    this.connApp.get(conn)?.connectionLost(conn, now)
    this.connApp.delete(conn)
    return fx
  }

  tick(now: number): Output {
    const fx = new Effects()
    for (const [appId, app] of this.apps) {
      app.tick(fx, now)
      if (app.sessions.size === 0) this.apps.delete(appId)
    }
    this.forgetClosed(fx)
    return fx
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
    // Issue 4 fills this in; issue 2's state (sessions, presence) is not durable by design.
    void entries
  }

  app(appId: string): AppEngine | undefined {
    return this.apps.get(appId)
  }

  private forgetClosed(fx: Effects): void {
    // Every engine path that closes a connection has already detached its session.
    for (const { conn } of fx.closes) this.connApp.delete(conn)
  }
}
