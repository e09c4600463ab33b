import WebSocket from 'ws'

/**
 * A light socket.io 4 client: engine.io v4 over a raw `ws` WebSocket, nothing else.
 * The bench uses it instead of socket.io-client so that the client side costs far less
 * than the server under test (2 cores here). Deliveries are spotted by scanning the raw
 * frame for the payload marker, without JSON.parse.
 */
export class LiteSocket {
  readonly #ws: WebSocket
  readonly #acks = new Map<number, (args: unknown[]) => void>()
  #nextAck = 1
  #handlers = new Map<string, (args: unknown[], ack: number | null) => void>()
  /** Sees every event frame first; return true when it was consumed. */
  onRaw: ((text: string, ack: number | null) => boolean) | null = null
  /** Fast path: event frames carrying a bench payload, found in the raw bytes without decoding the frame. */
  onMarked: ((marked: Marked, ack: number | null) => void) | null = null
  onClose: (() => void) | null = null

  private constructor(ws: WebSocket) {
    this.#ws = ws
  }

  static connect(baseUrl: string, timeoutMs = 60_000): Promise<LiteSocket> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true })
    const socket = new LiteSocket(ws)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { ws.terminate(); reject(new Error(`connect timeout ${url}`)) }, timeoutMs)
      ws.on('error', (error) => { clearTimeout(timer); reject(error) })
      ws.on('close', () => { clearTimeout(timer); reject(new Error('closed during connect')); socket.onClose?.() })
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return
        if (socket.onMarked && data[0] === 0x34 && data[1] === 0x32) { // "42": an event
          const marked = findMarkedBytes(data)
          if (marked) return socket.onMarked(marked, ackIdOf(data))
        }
        const text = data.toString()
        if (text[0] === '0') return ws.send('40') // engine.io open → join namespace "/"
        if (text.startsWith('40')) { clearTimeout(timer); resolve(socket); return }
        socket.#receive(text)
      })
    })
  }

  #receive(text: string): void {
    if (text === '2') return this.#ws.send('3') // engine.io ping → pong
    if (text[0] !== '4') return
    const type = text[1]
    let i = 2
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++
    const id = i > 2 ? Number(text.slice(2, i)) : null
    if (type === '2') {
      if (this.onRaw?.(text, id)) return
      const [name, ...args] = JSON.parse(text.slice(i)) as [string, ...unknown[]]
      this.#handlers.get(name)?.(args, id)
    } else if (type === '3' && id !== null) {
      const resolve = this.#acks.get(id)
      this.#acks.delete(id)
      resolve?.(JSON.parse(text.slice(i)) as unknown[])
    }
  }

  on(event: string, handler: (args: unknown[], ack: number | null) => void): void {
    this.#handlers.set(event, handler)
  }

  emit(event: string, payload: unknown): void {
    this.#ws.send(`42${JSON.stringify([event, payload])}`)
  }

  /** Emits with a socket.io acknowledgement; resolves with the ack's arguments. */
  emitWithAck(event: string, payload: unknown): Promise<unknown[]> {
    const id = this.#nextAck++
    return new Promise((resolve) => {
      this.#acks.set(id, resolve)
      this.#ws.send(`42${id}${JSON.stringify([event, payload])}`)
    })
  }

  ack(id: number, payload: unknown): void {
    this.#ws.send(`43${id}${JSON.stringify([payload])}`)
  }

  close(): void {
    this.#ws.removeAllListeners('close')
    this.#ws.terminate()
  }
}

/** Monotonic milliseconds, shared by every process on the box (CLOCK_MONOTONIC). */
export function monoMs(): number {
  const [s, ns] = process.hrtime()
  return s * 1e3 + ns / 1e6
}

/**
 * Bench payloads: `b|seq|sentMs|` for channel messages, `p|seq|sentMs|replyTo|` for a
 * direct ping and `q|seq|sentMs|` for its echo. Plain ASCII, so JSON keeps them verbatim.
 */
export type Marked = { kind: 'b' | 'p' | 'q'; seq: number; sent: number; replyTo: string }

const MARKERS = ['"b|', '"p|', '"q|'].map((m) => Buffer.from(m))

function findMarkedBytes(data: Buffer): Marked | null {
  for (const marker of MARKERS) {
    const at = data.indexOf(marker)
    if (at < 0) continue
    const end = data.indexOf(0x22, at + 1)
    return parseMarked(data.toString('latin1', at + 1, end))
  }
  return null
}

function ackIdOf(data: Buffer): number | null {
  let id = 0
  let i = 2
  for (; i < data.length && data[i] >= 0x30 && data[i] <= 0x39; i++) id = id * 10 + data[i] - 0x30
  return i > 2 ? id : null
}

function parseMarked(payload: string): Marked {
  const [kind, seq, sent, replyTo = ''] = payload.split('|')
  return { kind: kind as Marked['kind'], seq: Number(seq), sent: Number(sent), replyTo }
}

export function findMarked(text: string): Marked | null {
  let at = text.indexOf('"b|')
  if (at < 0) at = text.indexOf('"p|')
  if (at < 0) at = text.indexOf('"q|')
  if (at < 0) return null
  return parseMarked(text.slice(at + 1, text.indexOf('"', at + 1)))
}
