/** How a frame in the event log reads: pure functions, so the log panel only renders strings. */

export type Direction = 'in' | 'out'

/** A frame as the log keeps it: the summary is computed once, the text is what filters match. */
export interface LogEntry {
  seq: number
  direction: Direction
  timestamp: number
  /** `req` / `res` / `evt`, or `?` for anything else. */
  type: string
  /** The request's op, the reply's op (matched by id) or the event's kind. */
  label: string
  /** `ok` / the error code for replies; empty otherwise. */
  outcome: string
  /** The frame as JSON with binary payloads replaced by their byte counts. */
  text: string
}

/** Bytes are shown as a count, never dumped: a 32 KB payload would drown the log. */
export function describeBytes(value: unknown): string | null {
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
  if (value instanceof ArrayBuffer) return `<${value.byteLength} bytes>`
  if (ArrayBuffer.isView(value)) return `<${value.byteLength} bytes>`
  return null
}

/** Credentials never shown on screen (the log is often on a shared screen in demos). */
const SECRET_KEYS: ReadonlySet<string> = new Set(['token', 'resumeKey', 'cipherKey'])

/** JSON of a frame, binary-safe and bounded (long strings are cut so one frame cannot freeze the page). */
export function frameText(frame: unknown, maxString = 2000): string {
  try {
    return JSON.stringify(frame, (key, value: unknown) => {
      if (SECRET_KEYS.has(key) && typeof value === 'string') return '<redacted>'
      const bytes = describeBytes(value)
      if (bytes) return bytes
      if (typeof value === 'string' && value.length > maxString) return `${value.slice(0, maxString)}… (${value.length} chars)`
      return value
    }) ?? String(frame)
  } catch (error) {
    return `<unprintable frame: ${error instanceof Error ? error.message : String(error)}>`
  }
}

/** Requests remembered while waiting for their reply. */
const MAX_PENDING_OPS = 1000

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
}

/**
 * Turns a raw frame into a log entry. Replies carry only an id, so `ops` remembers the op
 * of each outgoing request until its reply comes back.
 */
export function summarise(direction: Direction, frame: unknown, timestamp: number, seq: number, ops: Map<number, string>): LogEntry {
  const type = field(frame, 't')
  const id = field(frame, 'id')
  let label = '?'
  let outcome = ''
  if (type === 'req') {
    label = String(field(frame, 'op'))
    if (typeof id === 'number') ops.set(id, label)
    // Requests that never get a reply (the link dropped) must not pile up.
    if (ops.size > MAX_PENDING_OPS) ops.delete(ops.keys().next().value as number)
  } else if (type === 'res') {
    label = typeof id === 'number' ? ops.get(id) ?? `#${id}` : '?'
    if (typeof id === 'number') ops.delete(id)
    outcome = field(frame, 'ok') === true ? 'ok' : String(field(field(frame, 'error'), 'errorCode') ?? 'error')
  } else if (type === 'evt') {
    label = String(field(field(frame, 'event'), 'kind'))
  }
  return { seq, direction, timestamp, type: typeof type === 'string' ? type : '?', label, outcome, text: frameText(frame) }
}
