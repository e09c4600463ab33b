import type { CallIdentity } from '../../engine/calls'
import type { ConnId } from '../../engine/effects'
import type { ServerFrame } from '../../protocol/events'

/** What a gateway hands an owner: one connection's frame, call frame, room frame, or its end. */
export type Inbound =
  | { k: 'f'; p: string; g: string; c: ConnId; f: unknown }
  | { k: 'c' | 'r'; p: string; g: string; c: ConnId; f: unknown; i: CallIdentity }
  | { k: 'd'; p: string; g: string; c: ConnId }
/** What an owner hands a gateway: a frame for some of its sockets, a close, or "I (process `g`) no longer own p". */
export type Outbound =
  | { k: 'o'; to: ConnId[]; f: ServerFrame }
  | { k: 'x'; c: ConnId; r: string }
  | { k: 'm'; p: string; g: string }
  /** Several of the above, in order (one owner step's messages for one gateway). */
  | { k: 'b'; m: Outbound[] }


/** Bytes (socket.io binary payloads) cross Redis as `{"\u0000b": base64}`: plain JSON would turn them into number arrays. */
const BYTES = '\u0000b'

function keepBytes(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]
  if (raw instanceof Uint8Array) return { [BYTES]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') }
  return value
}

function restoreBytes(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as Record<string, unknown>)[BYTES] === 'string') {
    return Buffer.from((value as Record<string, string>)[BYTES], 'base64')
  }
  return value
}

export function encodeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame, keepBytes)
}

export function encodeClusterMessage(message: Inbound | Outbound): string {
  return JSON.stringify(message, keepBytes)
}

/** Messages come from the cluster's own processes through our Redis: trusted, but a bad one is still only an error. */
export function decodeClusterMessage(text: string): Inbound | Outbound {
  // The reviver costs ~8× a plain parse: only text that carries bytes pays for it ("\u0000b" as JSON writes it).
  const message = (text.includes('\\u0000b') ? JSON.parse(text, restoreBytes) : JSON.parse(text)) as Inbound | Outbound
  if (typeof message !== 'object' || message === null || typeof message.k !== 'string') throw new Error('not a cluster message')
  return message
}
