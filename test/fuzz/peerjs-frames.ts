import fc from 'fast-check'
import { anyValue, bigBytes, bytes, deep, garbage, hugeString, mutated, weirdString } from './garbage'
import { oversizedLast, toJsonText, utf8Bytes } from './json-text'

/** The broker's frame limit (issue 11: 64 KiB); a bigger frame closes the socket. */
const PEER_FRAME_LIMIT = 64 * 1024

/** One PeerJS broker connection: the upgrade's query, then its frames. */
export interface PeerSession { query: string; frames: ({ kind: 'text'; text: string } | { kind: 'binary'; data: Uint8Array })[] }

export interface PeerContext {
  /** Ids this lane claims (`<appId>-<suffix>`: the broker forwards only within an app). */
  ids: string[]
  /** Ids that exist (well-behaved peers), so frames reach someone. */
  peers: string[]
}

const TYPES = ['HEARTBEAT', 'OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE', 'EXPIRE', 'OPEN', 'ID-TAKEN', 'ERROR'] as const

/** Frames as the PeerJS client sends them: HEARTBEAT, and OFFER/ANSWER/CANDIDATE to a peer. */
export function peerTemplates(ctx: PeerContext): fc.Arbitrary<Record<string, unknown>> {
  const dst = fc.constantFrom(...ctx.peers, ...ctx.ids, 'nobody', 'app-coordinator')
  const payload = fc.oneof(
    fc.record({ sdp: fc.constant({ type: 'offer', sdp: 'v=0\r\n' }), type: fc.constant('data'), connectionId: fc.constant('dc_1'), label: fc.constant('dc_1'), serialization: fc.constantFrom('binary', 'json', 'raw'), reliable: fc.boolean() }),
    fc.record({ candidate: fc.constant({ candidate: 'candidate:1 1 udp 1 10.99.0.1 5 typ host', sdpMid: '0' }), type: fc.constant('data'), connectionId: fc.constant('dc_1') }),
  )
  return fc.oneof(
    { arbitrary: fc.constant({ type: 'HEARTBEAT' }), weight: 2 },
    { arbitrary: fc.record({ type: fc.constantFrom('OFFER', 'ANSWER', 'CANDIDATE'), dst, payload }), weight: 5 },
    // Deep, huge or odd payloads relayed to a real peer: the broker re-encodes them for it.
    { arbitrary: fc.record({ type: fc.constantFrom('OFFER', 'CANDIDATE'), dst, payload: fc.oneof(anyValue, deep, hugeString) }), weight: 3 },
    { arbitrary: fc.record({ type: fc.constantFrom('LEAVE', 'EXPIRE'), dst }), weight: 1 },
  )
}

/** Percent-encodes UTF-8 bytes (a lone surrogate becomes U+FFFD instead of throwing like encodeURIComponent). */
function encode(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'), (byte) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`)).join('')
}

let tokens = 0
/** A token no other connection of the run uses: the same id with the same token resumes that peer silently (no OPEN). */
function freshToken(base: string): string {
  return `${base}${++tokens}`
}

/** The query of the upgrade: mostly valid, sometimes missing or wrong fields, odd ids, another key, broken escapes. */
function query(ctx: PeerContext): fc.Arbitrary<string> {
  const valid = fc.tuple(fc.constantFrom(...ctx.ids), fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom(...'abcdef0123') }))
    .map(([id, token]) => `key=peerjs&id=${encode(id)}&token=${freshToken(token)}`)
  const odd = fc.record({ key: fc.constantFrom('peerjs', 'other', ''), id: fc.oneof(weirdString, fc.constantFrom(...ctx.peers, 'nodash', '-x', 'x-')), token: weirdString })
    .map(({ key, id, token }) => `key=${encode(key)}&id=${encode(id)}&token=${encode(freshToken(token))}`)
  const broken = fc.constantFrom('key=peerjs&id=ID%E0%A4%A&token=T', 'key=peerjs&id=ID&id=x-y&token=T', '', '&&&', 'key=peerjs&id=ID%00&token=%T', 'id=ID&token=T')
    .map((template) => template.replaceAll('ID', encode(ctx.ids[0])).replaceAll('T', freshToken('t')))
  return fc.oneof({ arbitrary: valid, weight: 18 }, { arbitrary: odd, weight: 1 }, { arbitrary: broken, weight: 1 })
}

export function peerSession(ctx: PeerContext, length: number): fc.Arbitrary<PeerSession> {
  const templates = peerTemplates(ctx)
  const text = (value: unknown) => ({ kind: 'text' as const, text: toJsonText(value).text })
  const frame = fc.oneof(
    { arbitrary: templates.map(text), weight: 8 },
    { arbitrary: mutated(templates).map(text), weight: 6 },
    { arbitrary: fc.record({ type: fc.oneof(fc.constantFrom(...TYPES), weirdString), dst: garbage, payload: garbage, src: fc.constantFrom(...ctx.peers) }, { requiredKeys: ['type'] }).map(text), weight: 3 },
    { arbitrary: garbage.map(text), weight: 2 },
    { arbitrary: fc.constantFrom('', 'NaN', '{"type":"OFFER"', 'null', '1', '"x"', '[]').map((t) => ({ kind: 'text' as const, text: t })), weight: 2 },
    { arbitrary: fc.oneof(bytes, bigBytes).map((data) => ({ kind: 'binary' as const, data })), weight: 1 },
  )
  return fc.record({ query: query(ctx), frames: fc.array(frame, { minLength: length, maxLength: length }) })
    .map(({ query, frames }) => ({ query, frames: oversizedLast(frames, PEER_FRAME_LIMIT, (f) => f.kind === 'text' ? utf8Bytes(f.text) : f.data.byteLength) }))
}
