import WebSocket from 'ws'
import { until } from './waiting'

/** Frames kept per client (clu lists from fuzz registrations would pile up). */
const MAX_INBOX = 2000

export type CallFrame = Record<string, unknown> & { cmd?: unknown }

/** A plain /ws/calls client (seed 002 JSON text frames) that records everything it receives. */
export class CallsClient {
  readonly inbox: CallFrame[] = []
  closed: { code: number; reason: string } | null = null

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return void this.inbox.push({ cmd: 'binary?' })
      try {
        this.inbox.push(JSON.parse(data.toString()) as CallFrame)
        if (this.inbox.length > MAX_INBOX) this.inbox.splice(0, this.inbox.length - MAX_INBOX)
      } catch {
        this.inbox.push({ cmd: 'not-json?' })
      }
    })
    ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() } })
    ws.on('error', () => undefined) // the close event follows
  }

  static open(wsUrl: string, query = ''): Promise<CallsClient> {
    const ws = new WebSocket(`${wsUrl}/ws/calls${query}`, { perMessageDeflate: false })
    const client = new CallsClient(ws)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client))
      ws.once('error', reject)
      ws.once('unexpected-response', (_request, response) => reject(new Error(`/ws/calls refused: ${response.statusCode}`)))
    })
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  send(frame: unknown): void {
    if (this.open) this.ws.send(typeof frame === 'string' || frame instanceof Uint8Array ? frame : JSON.stringify(frame))
  }

  async register(sId: string): Promise<void> {
    this.send({ cmd: 'sId', sId })
    await this.next((frame) => frame.cmd === 'sId' && frame.sId === sId, `sId ${sId}`)
  }

  /** Waits for a received frame matching `match` (already received ones count). */
  async next(match: (frame: CallFrame) => boolean, what: string, timeoutMs = 10_000): Promise<CallFrame> {
    await until(() => this.inbox.some(match) || this.closed !== null, timeoutMs, `/ws/calls: ${what}`)
    const found = this.inbox.find(match)
    if (!found) throw new Error(`/ws/calls socket closed (${JSON.stringify(this.closed)}) while waiting for ${what}`)
    return found
  }

  close(): void {
    this.ws.terminate()
  }
}
