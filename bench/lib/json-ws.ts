import WebSocket from 'ws'
import { Mailbox } from './mailbox'
import { tcpOf } from './raw-client'

/** A plain WebSocket client of /ws/calls or /peerjs: JSON text frames both ways. */
export class JsonWs {
  readonly messages: Record<string, unknown>[] = []
  onMessage: (message: Record<string, unknown>, bytes: number) => void = () => {}
  bytesIn = 0
  closed: { code: number; reason: string } | null = null
  errors: string[] = []
  readonly closedPromise: Promise<void>
  readonly #mailbox = new Mailbox<Record<string, unknown>>()

  private constructor(readonly ws: WebSocket, keep: boolean) {
    let closedResolve: () => void = () => {}
    this.closedPromise = new Promise((resolve) => { closedResolve = resolve })
    ws.on('message', (data: Buffer) => {
      this.bytesIn += data.length
      let message: Record<string, unknown>
      try {
        message = JSON.parse(data.toString()) as Record<string, unknown>
      } catch {
        message = { unparsed: data.toString().slice(0, 200) }
      }
      if (keep) this.messages.push(message)
      this.#mailbox.offer(message)
      this.onMessage(message, data.length)
    })
    ws.on('error', (error) => this.errors.push(String(error)))
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.#mailbox.cancel()
      closedResolve()
    })
  }

  /** Opens `url`; rejects with the HTTP status when the upgrade is refused. `keep` stores every message. */
  static open(url: string, options: { localAddress?: string; keep?: boolean; timeoutMs?: number } = {}): Promise<JsonWs> {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: options.localAddress, handshakeTimeout: options.timeoutMs ?? 10_000 })
    const client = new JsonWs(ws, options.keep ?? true)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client))
      ws.once('unexpected-response', (_request, response) => {
        reject(new Error(`HTTP ${response.statusCode}`))
        ws.terminate()
      })
      ws.once('error', reject)
      ws.once('close', (code) => reject(new Error(`closed during connect (${code})`)))
    })
  }

  send(message: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message))
  }

  sendText(text: string, callback?: (error?: Error) => void): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text, callback)
    else callback?.(new Error('not open'))
  }

  /** The next message (from now on) matching `match`, or null after `timeoutMs` or on close. */
  waitFor(match: (message: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown> | null> {
    return this.#mailbox.wait(match, timeoutMs)
  }

  /** The first stored message matching `match`, waiting up to `timeoutMs`; null if none came. */
  async next(match: (message: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown> | null> {
    const deadline = performance.now() + timeoutMs
    let seen = 0
    while (performance.now() < deadline) {
      for (; seen < this.messages.length; seen++) if (match(this.messages[seen])) return this.messages[seen]
      if (this.closed) return null
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return null
  }

  pause(): void {
    tcpOf(this.ws)?.pause()
  }

  close(): void {
    this.ws.terminate()
  }
}
