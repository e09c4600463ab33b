import type { Socket } from 'socket.io'

/**
 * Bytes the relay may hold for one connection that does not read (as Centrifugo's
 * `client_queue_max_size`): a socket.io client still over it OUTBOUND_GRACE_MS after it
 * went over is closed, so a client that stops reading cannot grow the relay's memory with
 * what others send it. Raw WebSocket endpoints (small frames) close at once past it.
 */
export const MAX_OUTBOUND_BYTES = 4 * 1024 * 1024
/**
 * A reading client can be over MAX_OUTBOUND_BYTES for a moment: a burst of large frames
 * (member lists of a big channel) is queued within one turn of the event loop, before any
 * of it could be read. It is closed only if it stays over for this long, or at once past
 * HARD_OUTBOUND_BYTES.
 */
export const OUTBOUND_GRACE_MS = 2_000
export const HARD_OUTBOUND_BYTES = 16 * 1024 * 1024
/** A reading client has next to nothing queued; bytes are only counted past this many packets. */
const PACKETS_BEFORE_COUNTING = 16
/** Many tiny frames count too (and keep the byte count cheap). */
const MAX_OUTBOUND_PACKETS = 8192

/** What engine.io keeps per connection (not in its public types). */
interface EngineConnection {
  writeBuffer: { data?: unknown }[]
  transport: { socket?: { bufferedAmount?: number; terminate?: () => void } }
  close(discard?: boolean): void
}

/** Bytes queued for a socket.io client: engine.io's write buffer plus what the WebSocket has not flushed. */
export function outboundBytes(socket: Socket): number {
  const engine = socket.conn as unknown as EngineConnection
  let bytes = engine.transport.socket?.bufferedAmount ?? 0
  if (engine.writeBuffer.length <= PACKETS_BEFORE_COUNTING) return bytes
  if (engine.writeBuffer.length > MAX_OUTBOUND_PACKETS) return Number.POSITIVE_INFINITY
  for (const packet of engine.writeBuffer) {
    const data = packet.data
    bytes += typeof data === 'string' ? data.length : data instanceof Uint8Array ? data.byteLength : 16
  }
  return bytes
}

/**
 * Whether the client is a slow reader to close: over the hard cap, or still over the cap
 * OUTBOUND_GRACE_MS after it went over (kept in `socket.data`, socket.io's per-socket slot).
 */
export function overOutboundCap(socket: Socket, now = Date.now()): boolean {
  const data = socket.data as { outboundOverSince?: number }
  const bytes = outboundBytes(socket)
  if (bytes <= MAX_OUTBOUND_BYTES) {
    delete data.outboundOverSince
    return false
  }
  if (bytes > HARD_OUTBOUND_BYTES) return true
  data.outboundOverSince ??= now
  return now - data.outboundOverSince >= OUTBOUND_GRACE_MS
}

/**
 * Closes a client that stopped reading, now: socket.io's own disconnect waits for the
 * write buffer to drain, which a non-reading client never lets happen.
 */
export function dropSlowReader(socket: Socket): void {
  const engine = socket.conn as unknown as EngineConnection
  engine.transport.socket?.terminate?.()
  engine.close(true)
}
