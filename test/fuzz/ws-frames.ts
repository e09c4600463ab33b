import fc from 'fast-check'
import { bigBytes, bytes, garbage, weirdString } from './garbage'
import { Deep, oversizedLast, preview, toJsonText, utf8Bytes } from './json-text'

/**
 * What fuzz frames to the raw JSON WebSocket endpoints (/ws/calls, /ws/rooms) share: the
 * frame shape and limit, the broken frames every endpoint gets, and how a connection's
 * frames are put together. Each endpoint's file keeps its own valid and near-valid frames.
 */

/** /ws/calls and /ws/rooms close a socket on a frame over 256 KiB (MAX_CALL_FRAME_BYTES, MAX_ROOM_FRAME_BYTES). */
export const WS_FRAME_LIMIT = 256 * 1024

/** One WebSocket frame to a raw JSON endpoint: JSON text, text that is not JSON, or binary. */
export type WsItem = { kind: 'text'; text: string } | { kind: 'binary'; data: Uint8Array }

/** `value` as a JSON text frame. */
export const jsonItem = (value: unknown): WsItem => ({ kind: 'text', text: toJsonText(value).text })

/** An SDP offer and an ICE candidate as a browser would send them, for both seeds' signals. */
export const SAMPLE_OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }
export const SAMPLE_CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 10.99.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 }

/** Text that is not JSON (or not quite): the endpoint's `nearMisses`, weird strings, and JSON 20,000 deep cut short. */
export function notJsonText(nearMisses: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...nearMisses),
    weirdString,
    fc.constantFrom(20_000).map((depth) => new Deep(depth, 'array').text().slice(0, -1)),
  )
}

/** The broken frames every raw endpoint gets besides its own: garbage JSON, text that is not JSON, binary. */
export function brokenItems(notJson: fc.Arbitrary<string>): fc.WeightedArbitrary<WsItem>[] {
  return [
    { arbitrary: garbage.map(jsonItem), weight: 2 },
    { arbitrary: notJson.map((text): WsItem => ({ kind: 'text', text })), weight: 2 },
    { arbitrary: fc.oneof(bytes, bigBytes).map((data): WsItem => ({ kind: 'binary', data })), weight: 1 },
  ]
}

/** A connection's frames: `first` most of the time, then `length` of `item`, those over WS_FRAME_LIMIT last. */
export function wsSession(first: fc.Arbitrary<WsItem>, item: fc.Arbitrary<WsItem>, length: number): fc.Arbitrary<WsItem[]> {
  return fc.tuple(fc.option(first, { freq: 4, nil: undefined }), fc.array(item, { minLength: length, maxLength: length }))
    .map(([head, items]) => [...(head ? [head] : []), ...oversizedLast(items, WS_FRAME_LIMIT, wsItemBytes)])
}

function wsItemBytes(item: WsItem): number {
  return item.kind === 'text' ? utf8Bytes(item.text) : item.data.byteLength
}

/** The JSON value of a text frame; undefined for a binary frame or text that is not JSON. */
export function jsonOf(item: WsItem): { value: unknown } | undefined {
  if (item.kind === 'binary') return undefined
  try {
    return { value: JSON.parse(item.text) as unknown }
  } catch {
    return undefined
  }
}

/** A frame as a line of a report. */
export function itemPreview(item: WsItem): string {
  return item.kind === 'text' ? preview(item.text) : `binary ${item.data.length} bytes`
}
