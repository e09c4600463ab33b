import WebSocket from 'ws'
import { until } from './waiting'

/** Frames kept per client (list pushes from fuzz joins would pile up). */
const MAX_INBOX = 2000

export type RoomFrame = Record<string, unknown> & { c?: unknown; s?: unknown; b?: Record<string, unknown> }

/** A plain /ws/rooms client (seed 003 `{action, data}` text frames) that records everything it receives. */
export class RoomsClient {
  readonly inbox: RoomFrame[] = []
  /** Every frame received, also those the bounded inbox dropped. */
  received = 0
  closed: { code: number; reason: string } | null = null

  private constructor(readonly ws: WebSocket, private readonly onFrame?: (frame: RoomFrame) => void) {
    ws.on('message', (data: Buffer, isBinary) => {
      let frame: RoomFrame
      try {
        frame = isBinary ? { s: 'binary?' } : JSON.parse(data.toString()) as RoomFrame
      } catch {
        frame = { s: 'not-json?' }
      }
      this.received++
      this.onFrame?.(frame)
      this.inbox.push(frame)
      if (this.inbox.length > MAX_INBOX) this.inbox.splice(0, this.inbox.length - MAX_INBOX)
    })
    ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() } })
    ws.on('error', () => undefined) // the close event follows
  }

  /** Opens `/ws/rooms<query>`; `onFrame` sees every frame as it arrives. */
  static open(wsUrl: string, query = '', onFrame?: (frame: RoomFrame) => void): Promise<RoomsClient> {
    const ws = new WebSocket(`${wsUrl}/ws/rooms${query}`, { perMessageDeflate: false })
    const client = new RoomsClient(ws, onFrame)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client))
      ws.once('error', reject)
      ws.once('unexpected-response', (_request, response) => reject(new Error(`/ws/rooms refused: ${response.statusCode}`)))
    })
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  send(frame: unknown): void {
    if (this.open) this.ws.send(typeof frame === 'string' || frame instanceof Uint8Array ? frame : JSON.stringify(frame))
  }

  /** Waits for a received frame matching `match` (already received ones count) and takes it out of the inbox. */
  async next(match: (frame: RoomFrame) => boolean, what: string, timeoutMs = 10_000): Promise<RoomFrame> {
    await until(() => this.inbox.some(match) || this.closed !== null, timeoutMs, `/ws/rooms: ${what}`)
    const index = this.inbox.findIndex(match)
    if (index < 0) throw new Error(`/ws/rooms socket closed (${JSON.stringify(this.closed)}) while waiting for ${what}`)
    return this.inbox.splice(index, 1)[0]
  }

  close(): void {
    this.ws.terminate()
  }
}
