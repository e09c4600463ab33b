import fc from 'fast-check'
import { parseCallMessage } from '../../src/protocol/calls'
import { anyValue, deep, garbage, hugeString, mutated, weirdString } from './garbage'
import { SAMPLE_CANDIDATE, SAMPLE_OFFER, brokenItems, jsonItem, jsonOf, notJsonText, wsSession, type WsItem } from './ws-frames'

/** One WebSocket frame to /ws/calls: JSON text, text that is not JSON, or binary. */
export type CallsItem = WsItem

export interface CallsContext {
  /** sIds this lane registers. */
  sIds: string[]
  /** sIds that exist (well-behaved clients), so session/notify reach someone. */
  callees: string[]
}

const hex = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength, maxLength })
const sdp = fc.oneof(fc.constant(SAMPLE_OFFER), fc.constant('v=0\r\n'), fc.constantFrom(65_537).map((n) => 'v'.repeat(n)))
const candidate = fc.oneof(fc.constant(SAMPLE_CANDIDATE), fc.constant(''))

/** Seed 002's client messages, aimed at real sIds. */
export function callTemplates(ctx: CallsContext): fc.Arbitrary<Record<string, unknown>> {
  const sessionId = hex(1, 32)
  const callee = fc.constantFrom(...ctx.callees, ...ctx.sIds, 'nobody')
  return fc.oneof(
    { arbitrary: fc.record({ cmd: fc.constant('sId'), sId: fc.constantFrom(...ctx.sIds, ...ctx.callees) }, { requiredKeys: ['cmd'] }), weight: 3 },
    { arbitrary: fc.record({ cmd: fc.constant('session'), opponentId: callee }), weight: 3 },
    { arbitrary: fc.record({ cmd: fc.constant('call'), sessionId, offer: sdp }), weight: 2 },
    { arbitrary: fc.record({ cmd: fc.constant('accept'), sessionId, answer: sdp }), weight: 1 },
    { arbitrary: fc.record({ cmd: fc.constantFrom('reject', 'stop'), sessionId }), weight: 1 },
    { arbitrary: fc.record({ cmd: fc.constant('icecandidate'), sessionId, icecandidate: candidate }), weight: 1 },
    // Ours: taking a call back after a reconnect; ids of any session, or past the 128-character bound.
    { arbitrary: fc.record({ cmd: fc.constant('claim'), sessionId: fc.oneof(sessionId, fc.constant('s'.repeat(129))), opponentId: callee }), weight: 2 },
    // The audit's crash class: opaque notify data, deep or huge, to a real sId.
    { arbitrary: fc.record({ cmd: fc.constant('notify'), opponentId: callee, type: fc.constantFrom('mute', 'x'.repeat(65)), data: fc.oneof({ arbitrary: anyValue, weight: 5 }, { arbitrary: deep, weight: 3 }, { arbitrary: hugeString, weight: 1 }) }), weight: 4 },
  )
}

/** Text that is not JSON (or not quite): NaN, trailing commas, truncation, lone surrogates. */
const notJson = notJsonText(['', 'NaN', '{"cmd":"sId",}', '{"cmd":"sId"', '[', 'undefined', '{"cmd":NaN}', "{'cmd':'sId'}", '\u0000'])

/** A connection's frames: registration first (most of the time), then valid, mutated, generated and broken frames. */
export function callsSession(ctx: CallsContext, length: number): fc.Arbitrary<CallsItem[]> {
  const templates = callTemplates(ctx)
  const item = fc.oneof(
    { arbitrary: templates.map(jsonItem), weight: 8 },
    { arbitrary: mutated(templates).map(jsonItem), weight: 6 },
    { arbitrary: fc.record({ cmd: fc.oneof(fc.constantFrom('sId', 'notify', 'clu', 'error', '__proto__'), weirdString), sId: garbage, opponentId: garbage, data: garbage }, { requiredKeys: ['cmd'] }).map(jsonItem), weight: 3 },
    ...brokenItems(notJson),
  )
  const register = fc.constantFrom(...ctx.sIds).map((sId) => jsonItem({ cmd: 'sId', sId }))
  return wsSession(register, item, length)
}

/**
 * Whether the relay must answer this frame with `{cmd:'error'}` whatever its state: not
 * JSON, binary, or not a valid seed-002 message (MALFORMED_FRAME). Valid messages may
 * be answered or not (notify and icecandidate are silent when they succeed).
 */
export function mustBeRefused(item: CallsItem): boolean {
  const json = jsonOf(item)
  return json === undefined || !parseCallMessage(json.value).ok
}
