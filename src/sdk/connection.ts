import { rtmError, type ErrorName, type RtmErrorInfo } from '../protocol/errors'
import type { LinkOperationName, LinkStateName } from '../protocol/enums'
import type { RequestFrame, ServerEvent } from '../protocol/events'
import { parseServerFrame } from '../protocol/server-frames'
import type { Link, Transport } from '../transport/transport'

/** A request not answered within this time fails with the operation's timeout code. */
export const REQUEST_TIMEOUT_MS = 10_000
/**
 * Reconnect backoff, then the last value. The first retry is quick because a failover
 * (a new coordinator tab) is usually ready within tens of milliseconds.
 */
export const RECONNECT_DELAYS_MS = [30, 250, 500, 1000, 2000, 4000]
/** Seed 000 LinkStateEvent.isResumed: a link back within 2 minutes counts as resumed; later, SUSPENDED. */
export const RESUME_WINDOW_MS = 120_000

export interface ConnectionOptions {
  appId: string
  userId: string
  presenceTimeout?: number
  heartbeatInterval: number
  transport: Transport
}

/**
 * In scaled mode (several relay processes behind a balancer), who serves a session: the
 * process holding its socket (`gateway`) and the one owning its app's partition (`owner`).
 */
export interface ServedBy {
  gateway: string
  owner: string
}

export interface ConnectionHooks {
  /** Link state changed (the RTM client turns it into a linkState event). */
  state(change: { current: LinkStateName; previous: LinkStateName; operation: LinkOperationName; reason: string; reasonCode: string; isResumed: boolean; unrestored: string[] }): void
  event(event: ServerEvent): void
  frame(direction: 'in' | 'out', frame: unknown): void
  /** After a reconnect's login: put back what the coordinator lost; returns channels that could not be restored. */
  restore(resumed: boolean): Promise<string[]>
}

interface Pending {
  frame: RequestFrame
  resolve(result: Record<string, unknown>): void
  reject(error: RtmErrorInfo): void
  /** Undefined for a request that may wait indefinitely. */
  timer: ReturnType<typeof setTimeout> | undefined
  sent: boolean
}

/** The seed's timeout code for an operation that got no answer while connected. */
function timeoutCode(op: string): ErrorName {
  if (op === 'subscribe' || op === 'joinStream') return 'CHANNEL_SUBSCRIBE_TIMEOUT'
  if (/Metadata$/.test(op)) return 'STORAGE_OPERATION_TIMEOUT'
  if (/Lock$/.test(op)) return 'LOCK_OPERATION_TIMEOUT'
  if (/State$|^get(OnlineUsers|UserChannels)$/.test(op)) return 'PRESENCE_OPERATION_TIMEOUT'
  return 'CHANNEL_PUBLISH_MESSAGE_TIMEOUT'
}
/** The login reply's `servedBy` (scaled mode: the gateway and the owner), else null. */
function servedByOf(value: unknown): ServedBy | null {
  const { gateway, owner } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  return typeof gateway === 'string' && typeof owner === 'string' ? { gateway, owner } : null
}
/** Login failures that retrying cannot fix. */
const FATAL_LOGIN: ReadonlySet<number> = new Set([-10003, -10005, -10006, -10009, -10014, -10016])

/**
 * The SDK's one link state machine (seed 000 RtmLinkState). A dropped socket, a relay
 * restart and a coordinator failover all look the same here: the link drops, we
 * reconnect to whoever coordinates now, log in again with the resume key, let the client
 * restore what the coordinator lost, and resend every unanswered request with its
 * original id (the coordinator answers a repeated id from its reply cache).
 */
export class Connection {
  state: LinkStateName = 'IDLE'
  /** From the current link's login reply; null while not connected and with one relay process, tabs or mesh. */
  servedBy: ServedBy | null = null
  private link: Link | null = null
  private generation = 0
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private resumeKey: string | undefined
  private token: string | undefined
  private loginWaiter: { resolve(): void; reject(error: RtmErrorInfo): void; deadline: ReturnType<typeof setTimeout> } | null = null
  private disconnectedAt = 0
  private attempt = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null
  private suspendTimer: ReturnType<typeof setTimeout> | null = null

  constructor(private readonly options: ConnectionOptions, private readonly hooks: ConnectionHooks) {}

  login(token: string | undefined): Promise<void> {
    if (this.state === 'CONNECTED' || this.state === 'CONNECTING' || this.state === 'DISCONNECTED' || this.state === 'SUSPENDED') {
      return Promise.reject(rtmError('DUPLICATE_OPERATION', 'login', `already ${this.state.toLowerCase()}`))
    }
    this.token = token
    this.resumeKey = undefined
    return new Promise((resolve, reject) => {
      this.loginWaiter = {
        resolve, reject,
        deadline: setTimeout(() => this.failLogin(rtmError('LOGIN_TIMEOUT', 'login', 'could not reach the coordinator')), REQUEST_TIMEOUT_MS),
      }
      this.setState('CONNECTING', 'LOGIN', '', '')
      this.open()
    })
  }

  async logout(): Promise<void> {
    if (this.state === 'CONNECTED') await this.request('logout', {}).catch(() => undefined)
    this.shutdown('IDLE', 'LOGOUT', 'logged out', 'LOGOUT', rtmError('NOT_LOGIN', 'logout', 'logged out'))
  }

  renewToken(token: string): Promise<Record<string, unknown>> {
    this.token = token
    return this.request('renewToken', { token })
  }

  /**
   * Sends a request now if connected, else when the link is back; resolves with the result.
   * `timeoutMs: null` waits as long as it takes (acquireLock with retry waits in line).
   */
  request(op: string, args: Record<string, unknown>, timeoutMs: number | null = REQUEST_TIMEOUT_MS): Promise<Record<string, unknown>> {
    return this.enqueue(op, args, false, timeoutMs)
  }

  /** Sends on the current link even before it counts as CONNECTED (restoring after a reconnect). */
  requestNow(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.enqueue(op, args, true, REQUEST_TIMEOUT_MS)
  }

  private enqueue(op: string, args: Record<string, unknown>, immediate: boolean, timeoutMs: number | null): Promise<Record<string, unknown>> {
    if (this.state === 'IDLE' || this.state === 'FAILED') return Promise.reject(rtmError('NOT_LOGIN', op, 'log in first'))
    const id = this.nextId++
    const frame: RequestFrame = { t: 'req', id, op, args }
    return new Promise((resolve, reject) => {
      const timer = timeoutMs === null ? undefined : setTimeout(() => {
        this.pending.delete(id)
        reject(rtmError(this.state === 'CONNECTED' ? timeoutCode(op) : 'NOT_CONNECTED', op, `no answer within ${timeoutMs} ms`))
        if (op === 'heartbeat' && this.state === 'CONNECTED') this.drop('HEARTBEAT_TIMEOUT', 'the coordinator stopped answering')
      }, timeoutMs)
      const entry: Pending = { frame, resolve, reject, timer, sent: false }
      this.pending.set(id, entry)
      if (this.state === 'CONNECTED' || immediate) this.transmit(entry)
    })
  }

  destroy(): void {
    this.shutdown('IDLE', 'LOGOUT', 'released', 'RELEASED', rtmError('INSTANCE_ALREADY_RELEASED', 'release'))
  }

  private open(): void {
    const generation = ++this.generation
    const current = () => generation === this.generation
    this.link = this.options.transport.connect({
      open: () => { if (current()) void this.sendLogin(generation) },
      frame: (raw) => { if (current()) this.receive(raw) },
      close: (reason) => { if (current()) this.drop('AUTO_RECONNECT', reason) },
    })
  }

  private async sendLogin(generation: number): Promise<void> {
    const id = this.nextId++
    const args = {
      appId: this.options.appId, userId: this.options.userId, token: this.token,
      presenceTimeout: this.options.presenceTimeout, heartbeatInterval: this.options.heartbeatInterval,
      resumeKey: this.resumeKey,
    }
    const frame: RequestFrame = { t: 'req', id, op: 'login', args }
    const reply = await new Promise<{ ok: true; result: Record<string, unknown> } | { ok: false; error: RtmErrorInfo }>((resolve) => {
      const timer = setTimeout(() => { this.pending.delete(id); resolve({ ok: false, error: rtmError('LOGIN_TIMEOUT', 'login') }) }, REQUEST_TIMEOUT_MS)
      this.pending.set(id, {
        frame, timer, sent: true,
        resolve: (result) => resolve({ ok: true, result }),
        reject: (error) => resolve({ ok: false, error }),
      })
      this.hooks.frame('out', frame)
      this.link?.send(frame)
    })
    if (generation !== this.generation) return
    if (!reply.ok) {
      if (FATAL_LOGIN.has(reply.error.errorCode) || this.loginWaiter) return this.failLogin(reply.error)
      return this.drop('AUTO_RECONNECT', reply.error.reason)
    }
    this.resumeKey = String(reply.result.resumeKey)
    this.servedBy = servedByOf(reply.result.servedBy)
    const reconnecting = this.state === 'DISCONNECTED' || this.state === 'SUSPENDED'
    const isResumed = reconnecting && Date.now() - this.disconnectedAt <= RESUME_WINDOW_MS
    const unrestored = reconnecting ? await this.hooks.restore(reply.result.resumed === true) : []
    if (generation !== this.generation) return
    this.attempt = 0
    this.clearTimer('suspendTimer')
    this.setState('CONNECTED', reconnecting ? 'RECONNECTED' : 'LOGIN', reconnecting ? 'reconnected' : 'logged in', '', isResumed, unrestored)
    this.startHeartbeat()
    for (const entry of this.pending.values()) if (!entry.sent || reconnecting) this.transmit(entry)
    if (this.loginWaiter) {
      clearTimeout(this.loginWaiter.deadline)
      this.loginWaiter.resolve()
      this.loginWaiter = null
    }
  }

  private receive(raw: unknown): void {
    this.hooks.frame('in', raw)
    const frame = parseServerFrame(raw)
    if (!frame) return // malformed: traced above, otherwise ignored
    if (frame.t === 'res') {
      const entry = this.pending.get(frame.id)
      if (!entry) return
      this.pending.delete(frame.id)
      clearTimeout(entry.timer)
      if (frame.ok) entry.resolve(frame.result)
      else entry.reject(frame.error)
      return
    }
    const event = frame.event
    if (event.kind === 'kicked') {
      // The coordinator ended this session (same user elsewhere, token expired): no reconnect.
      this.shutdown('FAILED', 'SERVER_REJECT', event.reason, event.reasonCode, rtmError('NOT_LOGIN', 'kicked', event.reason))
      return
    }
    this.hooks.event(event)
  }

  private transmit(entry: Pending): void {
    entry.sent = true
    this.hooks.frame('out', entry.frame)
    this.link?.send(entry.frame)
  }

  /** The link is gone but the user still wants to be online: reconnect with backoff. */
  private drop(operation: LinkOperationName, reason: string): void {
    if (this.state === 'IDLE' || this.state === 'FAILED') return
    this.link?.close()
    this.link = null
    this.generation++
    this.stopHeartbeat()
    this.servedBy = null
    if (this.state === 'CONNECTED') {
      this.disconnectedAt = Date.now()
      this.setState('DISCONNECTED', operation, reason, '')
      this.suspendTimer = setTimeout(() => {
        if (this.state === 'DISCONNECTED') this.setState('SUSPENDED', 'AUTO_RECONNECT', 'disconnected for over 2 minutes', '')
      }, RESUME_WINDOW_MS)
    }
    const delay = RECONNECT_DELAYS_MS[Math.min(this.attempt++, RECONNECT_DELAYS_MS.length - 1)]
    this.clearTimer('reconnectTimer')
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (this.state !== 'IDLE' && this.state !== 'FAILED') this.open()
    }, delay)
  }

  private failLogin(error: RtmErrorInfo): void {
    const waiter = this.loginWaiter
    this.loginWaiter = null
    if (waiter) clearTimeout(waiter.deadline)
    this.shutdown('FAILED', this.state === 'CONNECTING' ? 'LOGIN' : 'SERVER_REJECT', error.reason, error.name, error)
    waiter?.reject(error)
  }

  private shutdown(state: LinkStateName, operation: LinkOperationName, reason: string, reasonCode: string, error: RtmErrorInfo): void {
    this.generation++
    this.link?.close()
    this.link = null
    this.stopHeartbeat()
    this.servedBy = null
    this.clearTimer('reconnectTimer')
    this.clearTimer('suspendTimer')
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer)
      entry.reject({ ...error, operation: entry.frame.op })
    }
    this.pending.clear()
    if (this.loginWaiter) {
      clearTimeout(this.loginWaiter.deadline)
      this.loginWaiter.reject(error)
      this.loginWaiter = null
    }
    if (this.state !== state) this.setState(state, operation, reason, reasonCode)
  }

  private setState(current: LinkStateName, operation: LinkOperationName, reason: string, reasonCode: string, isResumed = false, unrestored: string[] = []): void {
    const previous = this.state
    this.state = current
    this.hooks.state({ current, previous, operation, reason, reasonCode, isResumed, unrestored })
  }

  private startHeartbeat(): void {
    this.stopHeartbeat()
    this.heartbeatTimer = setInterval(() => {
      this.request('heartbeat', {}).catch(() => undefined)
    }, this.options.heartbeatInterval * 1000)
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = null
  }

  private clearTimer(name: 'reconnectTimer' | 'suspendTimer'): void {
    const timer = this[name]
    if (timer) clearTimeout(timer)
    this[name] = null
  }
}
