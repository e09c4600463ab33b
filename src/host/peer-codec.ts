import { checkShape, MAX_FRAME_DEPTH } from '../protocol/bounds'

/**
 * Our codec for envelopes over PeerJS data channels (mesh mode), used with PeerJS's `raw`
 * serialization so PeerJS never decodes what a peer sends: its default BinaryPack decoder
 * throws on `null` and freezes on a 5-byte map header claiming 2^32−1 entries. A message
 * is JSON text with every Uint8Array written as `{"$bytes":"<base64>"}`, sent in pieces
 * of at most CHUNK_CHARS (a data channel message over ~256 KiB fails): each piece is one
 * tag character, `+` (more follow) or `=` (last), then its part of the text.
 */
export const PEER_SERIALIZATION = 'raw'
/** Text per data channel message: PeerJS's own chunk size, well under the SCTP message limit. */
export const CHUNK_CHARS = 16_000
/** What followers send the coordinator (requests on their links, confirmations): JSON characters per message. */
export const MAX_TO_COORDINATOR_CHARS = 1024 * 1024
/** What the coordinator sends followers, whose first replicate carries the whole durable state. */
export const MAX_TO_FOLLOWER_CHARS = 128 * 1024 * 1024
/** Envelope nesting (its `frame` aside, which the host bounds to MAX_FRAME_DEPTH and answers): a stored value sits 3 levels down. */
export const MAX_ENVELOPE_DEPTH = MAX_FRAME_DEPTH + 4

const MORE = '+'
const LAST = '='

/** The pieces to send for one envelope (`value` holds only JSON values and Uint8Arrays). */
export function encodePeerMessage(value: unknown): string[] {
  const text = JSON.stringify(toWire(value, 0))
  const pieces: string[] = []
  for (let at = 0; at < text.length; at += CHUNK_CHARS) {
    const part = text.slice(at, at + CHUNK_CHARS)
    pieces.push((at + CHUNK_CHARS >= text.length ? LAST : MORE) + part)
  }
  return pieces.length > 0 ? pieces : [LAST]
}

export type Decoded = { kind: 'value'; value: unknown } | { kind: 'bad'; reason: string } | { kind: 'partial' }

/**
 * Reassembles one data channel's pieces and decodes each whole message, never throwing:
 * anything but our text pieces, a message over `maxChars`, bad JSON, bad bytes or an
 * envelope nested deeper than MAX_ENVELOPE_DEPTH is `bad` (the caller drops and counts it).
 */
export class PeerMessageDecoder {
  private parts: string[] = []
  private chars = 0
  private oversized = false

  constructor(private readonly maxChars: number) {}

  push(data: unknown): Decoded {
    if (typeof data !== 'string' || (data[0] !== MORE && data[0] !== LAST)) return { kind: 'bad', reason: 'not a message of our codec' }
    this.chars += data.length - 1
    if (this.chars > this.maxChars) this.oversized = true
    // Keep no text of an oversized message; skip its pieces up to its last one.
    if (this.oversized) this.parts = []
    else this.parts.push(data.slice(1))
    if (data[0] === MORE) return { kind: 'partial' }
    const text = this.parts.join('')
    const oversized = this.oversized
    this.parts = []
    this.chars = 0
    this.oversized = false
    if (oversized) return { kind: 'bad', reason: `larger than ${this.maxChars} characters` }
    return decodeText(text)
  }
}

function decodeText(text: string): Decoded {
  let parsed: unknown
  try {
    parsed = JSON.parse(text) // iterative in V8: any depth parses without overflowing the stack
  } catch (error) {
    return { kind: 'bad', reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` }
  }
  // A request's `frame` is bounded by the host, which answers a too-deep one with an error; the rest here.
  const envelope = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? { ...parsed, frame: null } : parsed
  const shape = checkShape(envelope, MAX_ENVELOPE_DEPTH)
  if (!shape.ok) return { kind: 'bad', reason: shape.reason }
  try {
    return { kind: 'value', value: fromWire(parsed) }
  } catch (error) {
    return { kind: 'bad', reason: `bad bytes: ${error instanceof Error ? error.message : String(error)}` }
  }
}

/** A plain object that looks like one of our markers is wrapped in `{"$plain": …}` so it comes back as itself. */
function isMarkerShaped(value: object): boolean {
  const keys = Object.keys(value)
  return keys.length === 1 && (keys[0] === '$bytes' || keys[0] === '$plain')
}

function toWire(value: unknown, depth: number): unknown {
  if (value instanceof Uint8Array) return { $bytes: toBase64(value) }
  if (typeof value !== 'object' || value === null) return value
  // Our own outbound values were bounded where they entered; this guards a bug, not a peer.
  if (depth > MAX_ENVELOPE_DEPTH) throw new Error(`an envelope nested deeper than ${MAX_ENVELOPE_DEPTH} levels`)
  if (Array.isArray(value)) return value.map((item) => toWire(item, depth + 1))
  // fromEntries: a key `__proto__` stays an own data property (as JSON.parse makes it).
  const out = Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined).map(([key, item]) => [key, toWire(item, depth + 1)]))
  return isMarkerShaped(value) ? { $plain: out } : out
}

/** Markers back into bytes and plain objects, in place, without recursion (a frame may be nested deep). */
function fromWire(parsed: unknown): unknown {
  const root: Record<string, unknown> = { value: parsed }
  const stack: Record<string, unknown>[] = [root]
  while (stack.length > 0) {
    const node = stack.pop()!
    for (const key of Object.keys(node)) {
      const child = node[key]
      if (typeof child !== 'object' || child === null) continue
      const record = child as Record<string, unknown>
      if (!Array.isArray(child) && isMarkerShaped(child)) {
        if (typeof record.$bytes === 'string') {
          node[key] = fromBase64(record.$bytes)
          continue
        }
        const plain = record.$plain
        if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) throw new Error('a malformed $bytes or $plain marker')
        node[key] = plain
        stack.push(plain as Record<string, unknown>)
        continue
      }
      stack.push(record)
    }
  }
  return root.value
}

function toBase64(bytes: Uint8Array): string {
  let binary = ''
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000))
  return btoa(binary)
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text) // throws on text that is not base64: a bad message
  const bytes = new Uint8Array(binary.length)
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index)
  return bytes
}
