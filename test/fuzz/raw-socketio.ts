import WebSocket from 'ws'
import { inOneTcpWrite } from '../../bench/lib/raw-client'
import { toJsonText } from './json-text'

/** socket.io packet types (socket.io-parser, protocol v5). */
export const PacketType = { CONNECT: 0, DISCONNECT: 1, EVENT: 2, ACK: 3, CONNECT_ERROR: 4, BINARY_EVENT: 5, BINARY_ACK: 6 } as const

export interface Packet { type: number; nsp: string; id?: number; data: unknown }
export interface Closed { code: number; reason: string }

/**
 * A socket.io client written against the wire (engine.io v4 over WebSocket, socket.io
 * protocol v5), so frames the real client would refuse to encode — 20,000-deep JSON,
 * broken packets, several frames in one TCP write — reach the relay as sent.
 */
export class RawSocketIo {
  /** Set when the socket or the namespace closed (server `disconnect`, parse error, socket end). */
  closed: Closed | null = null
  readonly received: Packet[] = []
  private listeners: ((packet: Packet) => void)[] = []
  private closeListeners: (() => void)[] = []
  private pendingBinary: { packet: Packet; left: number; buffers: Buffer[] } | null = null

  private constructor(readonly ws: WebSocket, readonly nsp: string) {
    ws.on('message', (data: Buffer, isBinary) => this.onMessage(data, isBinary))
    ws.on('close', (code, reason) => this.markClosed(code, reason.toString()))
    ws.on('error', () => undefined) // the close event follows
  }

  /** Opens the socket and the namespace; rejects if either is refused. */
  static connect(baseUrl: string, nsp = '/', timeoutMs = 10_000): Promise<RawSocketIo> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false })
    const client = new RawSocketIo(ws, nsp)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { ws.terminate(); reject(new Error(`socket.io ${nsp} did not open`)) }, timeoutMs)
      ws.once('error', (error) => { clearTimeout(timer); reject(error) })
      client.onClose(() => { clearTimeout(timer); reject(new Error(`closed while opening: ${client.closed?.reason}`)) })
      client.onPacket((packet) => {
        if (packet.nsp !== nsp) return
        if (packet.type === PacketType.CONNECT) { clearTimeout(timer); resolve(client) }
        if (packet.type === PacketType.CONNECT_ERROR) { clearTimeout(timer); ws.terminate(); reject(new Error(`namespace refused: ${JSON.stringify(packet.data)}`)) }
      })
    })
  }

  get open(): boolean {
    return this.closed === null
  }

  onPacket(listener: (packet: Packet) => void): void {
    this.listeners.push(listener)
  }

  onClose(listener: () => void): void {
    if (this.closed) listener()
    else this.closeListeners.push(listener)
  }

  /** One event (`42["event",...args]`), with an ack id when given; bytes go as attachments. */
  emit(event: string, args: unknown[], ackId?: number): { text: string } {
    const { text: json, attachments } = toJsonText([event, ...args], 'attach')
    const nsp = this.nsp === '/' ? '' : `${this.nsp},`
    const id = ackId === undefined ? '' : String(ackId)
    const header = attachments.length > 0 ? `${PacketType.BINARY_EVENT}${attachments.length}-` : String(PacketType.EVENT)
    const text = `4${header}${nsp}${id}${json}`
    this.sendRaw(text)
    for (const attachment of attachments) this.sendRaw(attachment)
    return { text }
  }

  /** Anything at all on the socket: engine.io text or binary frames. */
  sendRaw(data: string | Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data)
  }

  /** Everything `send` writes goes out in one TCP write (as a client's batch would). */
  sameWrite(send: () => void): void {
    inOneTcpWrite(this.ws, send)
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close()
    else this.ws.terminate()
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const pending = this.pendingBinary
      if (!pending) return
      pending.buffers.push(data)
      if (--pending.left === 0) {
        this.pendingBinary = null
        this.deliver(pending.packet)
      }
      return
    }
    const text = data.toString()
    switch (text[0]) {
      case '0': return this.sendRaw(this.nsp === '/' ? '40' : `40${this.nsp},`) // engine.io open → socket.io connect
      case '1': return this.ws.close() // engine.io close
      case '2': return this.sendRaw(`3${text.slice(1)}`) // ping → pong
      case '4': return this.onPacketText(text.slice(1))
      default: return // pong (3), noop (6)
    }
  }

  private onPacketText(text: string): void {
    let at = 0
    const type = Number(text[at++])
    let attachments = 0
    if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
      const dash = text.indexOf('-', at)
      attachments = Number(text.slice(at, dash))
      at = dash + 1
    }
    let nsp = '/'
    if (text[at] === '/') {
      const comma = text.indexOf(',', at)
      const end = comma === -1 ? text.length : comma
      nsp = text.slice(at, end)
      at = end + 1
    }
    let digits = ''
    while (at < text.length && text[at] >= '0' && text[at] <= '9') digits += text[at++]
    let data: unknown
    try {
      data = at < text.length ? JSON.parse(text.slice(at)) : undefined
    } catch {
      data = undefined
    }
    const packet: Packet = { type, nsp, id: digits === '' ? undefined : Number(digits), data }
    if (packet.type === PacketType.DISCONNECT && nsp === this.nsp) this.markClosed(0, 'io server disconnect')
    if (attachments > 0) this.pendingBinary = { packet, left: attachments, buffers: [] }
    else this.deliver(packet)
  }

  private deliver(packet: Packet): void {
    this.received.push(packet)
    if (this.received.length > 50) this.received.shift()
    for (const listener of this.listeners) listener(packet)
  }

  private markClosed(code: number, reason: string): void {
    if (this.closed) return
    this.closed = { code, reason }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.terminate()
    for (const listener of this.closeListeners.splice(0)) listener()
  }
}
