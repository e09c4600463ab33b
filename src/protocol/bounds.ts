/**
 * Bounds on untrusted JSON-like values, checked where a frame enters (relay sockets,
 * BroadcastChannel, data channels). A value nested thousands deep parses fine but
 * overflows the stack of every recursive encoder that later touches it (socket.io's
 * binary check, JSON.stringify in another codec), so depth is refused at the edge.
 */

/** Deepest nesting accepted in any client frame (the native protocol needs 5). */
export const MAX_FRAME_DEPTH = 32
/** Opaque payloads handed to other clients (call `notify` data, EasyRTC msgData): depth and JSON size. */
export const MAX_OPAQUE_DEPTH = 16
export const MAX_OPAQUE_BYTES = 16 * 1024

export type Shape = { ok: true; bytes: number } | { ok: false; reason: string }

/**
 * Walks `value` without recursion: fails past `maxDepth` levels or once its JSON size
 * (approximate: strings, keys and bytes counted by length) passes `maxBytes`.
 */
export function checkShape(value: unknown, maxDepth: number, maxBytes = Number.POSITIVE_INFINITY): Shape {
  const stack: [unknown, number][] = [[value, 1]]
  let bytes = 0
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (typeof node === 'string') bytes += node.length + 2
    else if (node instanceof Uint8Array) bytes += node.byteLength
    else if (typeof node !== 'object' || node === null) bytes += 8
    else {
      if (depth > maxDepth) return { ok: false, reason: `nested deeper than ${maxDepth} levels` }
      bytes += 2
      if (Array.isArray(node)) {
        for (const item of node) stack.push([item, depth + 1])
        bytes += node.length
      } else {
        for (const key of Object.keys(node)) {
          bytes += key.length + 4
          stack.push([(node as Record<string, unknown>)[key], depth + 1])
        }
      }
    }
    if (bytes > maxBytes) return { ok: false, reason: `larger than ${maxBytes} bytes` }
  }
  return { ok: true, bytes }
}
