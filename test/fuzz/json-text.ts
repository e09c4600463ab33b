/**
 * JSON text for fuzz frames, built by hand so that a value nested 20,000 deep can be sent:
 * JSON.stringify (and socket.io's own encoder) recurse and overflow the stack long before
 * that, while V8's JSON.parse on the receiving side does not.
 */

/** `depth` levels of arrays (`[[[0]]]`) or objects (`{"a":{"a":0}}`), written without recursion. */
export class Deep {
  constructor(readonly depth: number, readonly shape: 'array' | 'object', readonly leaf: string = '0') {}

  text(): string {
    return this.shape === 'array'
      ? '['.repeat(this.depth) + this.leaf + ']'.repeat(this.depth)
      : '{"a":'.repeat(this.depth) + this.leaf + '}'.repeat(this.depth)
  }
}

/** Replaced by the next request id of the connection when the frame is sent. */
export class NextId {}
export const NEXT_ID = new NextId()

export interface JsonText {
  text: string
  /** Binary values taken out as socket.io attachments (`{_placeholder: true, num}`). */
  attachments: Uint8Array[]
}

/**
 * Writes `value` as JSON text. Generated values are shallow except for `Deep`, which is
 * written as text, so plain recursion is safe here. NaN and ±Infinity become `null` and
 * ±1e999 (valid JSON that parses back to ±Infinity); -0 stays `-0`. Bytes become socket.io
 * placeholders (`binary: 'attach'`) or arrays of numbers.
 */
export function toJsonText(value: unknown, binary: 'attach' | 'numbers' = 'numbers', nextId: () => number = () => 0): JsonText {
  const attachments: Uint8Array[] = []
  const write = (node: unknown): string | undefined => {
    if (node === undefined || typeof node === 'function' || typeof node === 'symbol') return undefined
    if (node === null) return 'null'
    if (node instanceof Deep) return node.text()
    if (node instanceof NextId) return String(nextId())
    if (typeof node === 'number') {
      if (Number.isNaN(node)) return 'null'
      if (node === Infinity) return '1e999'
      if (node === -Infinity) return '-1e999'
      return Object.is(node, -0) ? '-0' : String(node)
    }
    if (typeof node === 'bigint') return node.toString()
    if (typeof node === 'string' || typeof node === 'boolean') return JSON.stringify(node)
    if (node instanceof Uint8Array) {
      if (binary === 'numbers') return `[${node.join(',')}]`
      attachments.push(node)
      return `{"_placeholder":true,"num":${attachments.length - 1}}`
    }
    // Not node.map: an array may carry an own `constructor` key, which breaks species lookups.
    if (Array.isArray(node)) return `[${Array.from(node, (item) => write(item) ?? 'null').join(',')}]`
    const parts: string[] = []
    for (const key of Object.keys(node)) {
      const text = write((node as Record<string, unknown>)[key])
      if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`)
    }
    return `{${parts.join(',')}}`
  }
  return { text: write(value) ?? 'null', attachments }
}

/** A short, printable description of a frame for failure messages (never the whole 100 KB). */
export function preview(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`
}

/**
 * Moves the items larger than `limitBytes` (a transport's frame limit, over which the
 * connection is closed) to the end, keeping the order otherwise: one oversized frame
 * then ends a session instead of cutting it short.
 */
export function oversizedLast<T>(items: T[], limitBytes: number, bytesOf: (item: T) => number): T[] {
  const sizes = items.map(bytesOf)
  return [...items.filter((_, i) => sizes[i] <= limitBytes), ...items.filter((_, i) => sizes[i] > limitBytes)]
}

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
