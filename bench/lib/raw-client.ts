import WebSocket from 'ws'
import type { Socket } from 'node:net'
import { Mailbox } from './mailbox'

/**
 * Raw clients for the soak and the attacks: socket.io 4 spoken by hand over a `ws`
 * WebSocket (so a frame can be any text, several frames can share one TCP write, and a
 * client can stop reading its socket) and the native protocol on top of it. Plain
 * WebSocket clients for /ws/calls and /peerjs are in json-ws.ts. Loopback only.
 */

/** How often a paused (non-reading) socket.io client writes an unsolicited pong: engine.io accepts it as an answer. */
export const BLIND_PONG_MS = 10_000

export interface ConnectOptions {
  /** socket.io namespace, `/` or e.g. `/easyrtc`. */
  nsp?: string
  timeoutMs?: number
  /** Local address to connect from (another 127.x address is another client address). */
  localAddress?: string
}

/** A socket.io 4 client (engine.io v4, websocket transport only) written out by hand. */
export class SioClient {
  readonly ws: WebSocket
  readonly nsp: string
  /** Called for every event packet of this namespace: name, arguments, ack id (null when none). */
  onEvent: (name: string, args: unknown[], ackId: number | null) => void = () => {}
  /** Text of every socket.io event frame before it is parsed; return true to skip parsing. */
  onRawEvent: ((text: string) => boolean) | null = null
  onClose: (reason: string) => void = () => {}
  bytesIn = 0
  framesIn = 0
  closed = false
  closeReason = ''
  readonly #acks = new Map<number, (args: unknown[]) => void>()
  #nextAck = 1
  #blindPong: NodeJS.Timeout | null = null

  private constructor(ws: WebSocket, nsp: string) {
    this.ws = ws
    this.nsp = nsp
  }

  static connect(baseUrl: string, options: ConnectOptions = {}): Promise<SioClient> {
    const nsp = options.nsp ?? '/'
    const url = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: options.localAddress, handshakeTimeout: options.timeoutMs ?? 10_000 })
    const client = new SioClient(ws, nsp)
    const prefix = nsp === '/' ? '' : `${nsp},`
    return new Promise((resolve, reject) => {
      let open = false
      const timer = setTimeout(() => { ws.terminate(); reject(new Error('socket.io connect timeout')) }, options.timeoutMs ?? 10_000)
      ws.on('error', (error) => {
        client.closeReason ||= String(error)
        if (!open) { clearTimeout(timer); reject(error) }
      })
      ws.on('unexpected-response', (_request, response) => {
        clearTimeout(timer)
        reject(new Error(`HTTP ${response.statusCode}`))
        ws.terminate()
      })
      ws.on('close', (code, reason) => {
        client.closed = true
        client.closeReason ||= `close ${code} ${reason.toString()}`.trim()
        if (client.#blindPong) clearInterval(client.#blindPong)
        if (!open) { clearTimeout(timer); reject(new Error(`closed during connect: ${client.closeReason}`)) }
        client.onClose(client.closeReason)
      })
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        client.bytesIn += data.length
        client.framesIn++
        if (isBinary) return
        const text = data.toString()
        if (!open) {
          if (text[0] === '0') return ws.send(`40${prefix}`) // engine.io open → connect the namespace
          if (text.startsWith(`40${prefix}`)) { open = true; clearTimeout(timer); resolve(client); return }
          if (text.startsWith(`44${prefix}`)) { clearTimeout(timer); reject(new Error(`namespace refused: ${text}`)); ws.terminate(); return }
        }
        client.#receive(text, prefix)
      })
    })
  }

  #receive(text: string, prefix: string): void {
    if (text === '2') return this.ws.send('3') // engine.io ping → pong
    if (text[0] !== '4') return
    let i = 2
    if (prefix) {
      if (!text.startsWith(prefix, 2)) return
      i += prefix.length
    }
    const start = i
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++
    const id = i > start ? Number(text.slice(start, i)) : null
    if (text[1] === '2') {
      if (this.onRawEvent?.(text)) return
      const [name, ...args] = JSON.parse(text.slice(i)) as [string, ...unknown[]]
      this.onEvent(name, args, id)
    } else if (text[1] === '3' && id !== null) {
      const resolve = this.#acks.get(id)
      this.#acks.delete(id)
      resolve?.(JSON.parse(text.slice(i)) as unknown[])
    } else if (text[1] === '1') {
      this.ws.close() // the server disconnected this namespace
    }
  }

  #prefix(): string {
    return this.nsp === '/' ? '' : `${this.nsp},`
  }

  /** Sends an event frame whose JSON argument list is given as text (it may be too deep for JSON.stringify). */
  sendEventText(argsJson: string, ackId?: number): void {
    this.sendRaw(`42${this.#prefix()}${ackId ?? ''}${argsJson}`)
  }

  emit(event: string, ...args: unknown[]): void {
    this.sendEventText(JSON.stringify([event, ...args]))
  }

  emitWithAck(event: string, payload: unknown, timeoutMs = 10_000): Promise<unknown[]> {
    const id = this.#nextAck++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.#acks.delete(id); reject(new Error(`no ack for ${event} within ${timeoutMs} ms`)) }, timeoutMs)
      this.#acks.set(id, (args) => { clearTimeout(timer); resolve(args) })
      this.sendEventText(JSON.stringify([event, payload]), id)
    })
  }

  ack(id: number, ...args: unknown[]): void {
    this.sendRaw(`43${this.#prefix()}${id}${JSON.stringify(args)}`)
  }

  sendRaw(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text)
  }

  /** Everything `write` sends leaves in one TCP write (the socket is corked around it). */
  sameWrite(write: () => void): void {
    inOneTcpWrite(this.ws, write)
  }

  /**
   * Stops reading the socket (TCP backpressure builds up in the relay) while still
   * writing an unsolicited pong every BLIND_PONG_MS, which engine.io takes as alive.
   */
  pause(): void {
    tcpOf(this.ws)?.pause()
    this.#blindPong ??= setInterval(() => this.sendRaw('3'), BLIND_PONG_MS)
  }

  close(): void {
    if (this.#blindPong) clearInterval(this.#blindPong)
    this.ws.terminate()
  }
}

export function tcpOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket
}

/** Runs `write` with the WebSocket's TCP socket corked, so what it sends leaves in one TCP write (as a client's batch would). */
export function inOneTcpWrite(ws: WebSocket, write: () => void): void {
  const socket = tcpOf(ws)
  socket?.cork()
  try {
    write()
  } finally {
    process.nextTick(() => socket?.uncork())
  }
}

export interface Reply { ok: boolean; result?: unknown; error?: { errorCode: number; name?: string; reason?: string }; ms: number }
export interface NativeEvent { kind: string; [field: string]: unknown }

/** Counts what a NativeClient sees, shared by many clients (the soak's per-interval figures). */
export interface NativeStats {
  onReply(op: string, reply: Reply): void
  /** An event arrived; `kind` read from the raw text without parsing it. */
  onEvent?(kind: string, rawLength: number): void
  /** The relay closed the connection (not this side). */
  onDisconnect?(client: NativeClient, reason: string): void
}

/** Our native protocol (`'f'` frames: req → res, evt) on a raw socket.io client. */
export class NativeClient {
  readonly #pending = new Map<number, { op: string; sent: number; resolve(reply: Reply): void; timer: NodeJS.Timeout }>()
  #nextId = 1
  #closing = false
  userId = ''
  resumeKey = ''
  /** Parsed events; set it to see them (counting alone uses the raw text). */
  onEvt: ((event: NativeEvent) => void) | null = null
  /** Waiters for future events (parsed only while someone waits or listens). */
  readonly events = new Mailbox<NativeEvent>()
  #watching = 0

  constructor(readonly sio: SioClient, readonly stats?: NativeStats) {
    sio.onRawEvent = (text) => {
      if (text.startsWith('42["f",{"t":"res"')) {
        this.#settle(JSON.parse(text.slice(2))[1])
        return true
      }
      if (this.stats?.onEvent) this.stats.onEvent(kindOf(text), text.length)
      if (!this.onEvt && this.#watching === 0) return true
      const frame = JSON.parse(text.slice(2))[1] as { t: string; event: NativeEvent }
      if (frame?.t === 'evt') {
        this.onEvt?.(frame.event)
        this.events.offer(frame.event)
      }
      return true
    }
    sio.onClose = (reason) => {
      for (const [id, pending] of this.#pending) {
        clearTimeout(pending.timer)
        const reply: Reply = { ok: false, error: { errorCode: 0, name: 'CLOSED' }, ms: performance.now() - pending.sent }
        if (!this.#closing) this.stats?.onReply(pending.op, reply)
        pending.resolve(reply)
        this.#pending.delete(id)
      }
      this.events.cancel()
      if (!this.#closing) this.stats?.onDisconnect?.(this, reason)
    }
  }

  static async connect(baseUrl: string, stats?: NativeStats, options: ConnectOptions = {}): Promise<NativeClient> {
    return new NativeClient(await SioClient.connect(baseUrl, options), stats)
  }

  #settle(frame: { id: number; ok: boolean; result?: unknown; error?: Reply['error'] }): void {
    const pending = this.#pending.get(frame.id)
    if (!pending) return
    this.#pending.delete(frame.id)
    clearTimeout(pending.timer)
    const reply: Reply = { ok: frame.ok, result: frame.result, error: frame.error, ms: performance.now() - pending.sent }
    this.stats?.onReply(pending.op, reply)
    pending.resolve(reply)
  }

  /**
   * Continues `previous`'s request ids on this connection: the relay answers a repeated id of
   * the same session from its reply cache (a resend) without applying it again, so a client
   * that resumes a session must not start over at 1.
   */
  continueIdsOf(previous: NativeClient): void {
    this.#nextId = Math.max(this.#nextId, previous.#nextId)
  }

  /** The next request id; `frameText` builds frames by hand (e.g. too deep for JSON.stringify). */
  takeId(): number {
    return this.#nextId++
  }

  /** Resolves with the reply (never rejects): ok, or the error with its code; `TIMEOUT`/`CLOSED` as code 0. */
  request(op: string, args: unknown, timeoutMs = 10_000): Promise<Reply> {
    const id = this.takeId()
    return this.expect(id, op, timeoutMs, () => this.sio.emit('f', { t: 'req', id, op, args }))
  }

  /** Sends a request and does not wait for (or read) its reply: a paused client's heartbeat. */
  fire(op: string, args: unknown): void {
    this.sio.emit('f', { t: 'req', id: this.takeId(), op, args })
  }

  /** Waits for the reply to request `id`, sent by `send` (any way the caller likes). */
  expect(id: number, op: string, timeoutMs: number, send: () => void): Promise<Reply> {
    return new Promise((resolve) => {
      const sent = performance.now()
      if (this.sio.closed) return resolve({ ok: false, error: { errorCode: 0, name: 'CLOSED' }, ms: 0 })
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        const reply: Reply = { ok: false, error: { errorCode: 0, name: 'TIMEOUT' }, ms: performance.now() - sent }
        this.stats?.onReply(op, reply)
        resolve(reply)
      }, timeoutMs)
      this.#pending.set(id, { op, sent, resolve, timer })
      send()
    })
  }

  /** The next event matching `match` from now on, or null after `timeoutMs` or on close. */
  async nextEvent(match: (event: NativeEvent) => boolean, timeoutMs = 5000): Promise<NativeEvent | null> {
    this.#watching++
    try {
      return await this.events.wait(match, timeoutMs)
    } finally {
      this.#watching--
    }
  }

  async login(appId: string, userId: string, extra: { token?: string; resumeKey?: string; heartbeatInterval?: number; presenceTimeout?: number } = {}): Promise<Reply> {
    const reply = await this.request('login', { appId, userId, ...extra })
    if (reply.ok) {
      this.userId = userId
      this.resumeKey = (reply.result as { resumeKey?: string }).resumeKey ?? ''
    }
    return reply
  }

  get closed(): boolean {
    return this.sio.closed
  }

  get pendingCount(): number {
    return this.#pending.size
  }

  /** Closes from this side: requests in flight end as CLOSED without counting as errors. */
  close(): void {
    this.#closing = true
    this.sio.close()
  }
}

/** The `kind` of an event frame, read from its text: `{"t":"evt","event":{"kind":"message",…`. */
function kindOf(text: string): string {
  const at = text.indexOf('"kind":"')
  return at < 0 ? '?' : text.slice(at + 8, text.indexOf('"', at + 8))
}

/** A request frame as text, with `args` spliced in verbatim (for payloads JSON.stringify cannot write). */
export function frameText(id: number, op: string, argsJson: string): string {
  return `["f",{"t":"req","id":${id},"op":${JSON.stringify(op)},"args":${argsJson}}]`
}

/** JSON nested `depth` deep: `[[[…]]]`. */
export function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth)
}
