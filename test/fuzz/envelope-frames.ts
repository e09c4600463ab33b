import fc from 'fast-check'
import { parseEnvelope } from '../../src/protocol/peer-envelope'
import { anyValue, deep, garbage, hugeString, mutated, weirdString } from './garbage'
import { interleaved, nativeTemplates, type NativeContext } from './native-frames'
import { NEXT_ID, toJsonText } from './json-text'

/**
 * Envelopes for a coordinator page (tabs: BroadcastChannel; mesh: PeerJS data channel),
 * as a follower would post them: hello/req/ping/bye on its links, requests inside, plus
 * every other kind, mutated envelopes and plain garbage. The fuzz page only ever speaks
 * as itself: tabs of one origin are trusted not to forge another tab's id (README).
 */
export interface EnvelopeContext {
  /** The fuzz page's peer id (tab id or PeerJS id). */
  self: string
  /** The coordinator's peer id. */
  coordinator: string
  /** Links the fuzz page opened (hello → welcome). */
  links: string[]
  native: NativeContext
}

/** One message for the page to post: JSON text with bytes taken out (socket.io-style placeholders). */
export interface PagePost { text: string; bytes: number[][] }
/** Mesh only: raw bytes on the data channel, under PeerJS's own framing (BinaryPack). */
export type PageItem = { kind: 'post'; post: PagePost } | { kind: 'raw'; bytes: number[] }

function envelopes(ctx: EnvelopeContext): { requests: fc.Arbitrary<Record<string, unknown>>; control: fc.Arbitrary<Record<string, unknown>> } {
  const link = fc.constantFrom(...ctx.links)
  const frame = fc.oneof({ arbitrary: nativeTemplates(ctx.native), weight: 6 }, { arbitrary: mutated(nativeTemplates(ctx.native)), weight: 4 }, { arbitrary: fc.record({ t: fc.constant('req'), id: fc.constant(NEXT_ID), op: weirdString, args: garbage }), weight: 2 })
  const requests = fc.record({ kind: fc.constant('req'), from: fc.constant(ctx.self), to: fc.constant(ctx.coordinator), link, frame })
  const control = fc.oneof(
    fc.record({ kind: fc.constantFrom('ping', 'hello'), from: fc.constant(ctx.self), to: fc.constant(ctx.coordinator), link }),
    fc.record({ kind: fc.constant('bye'), from: fc.constant(ctx.self), to: fc.constant(ctx.coordinator), link: fc.constant('gone-link') }),
    fc.record({ kind: fc.constantFrom('welcome', 'pong', 'close'), from: fc.constant(ctx.self), to: fc.constantFrom(ctx.coordinator, 'nobody'), link, reason: fc.constant('x') }),
    fc.record({ kind: fc.constantFrom('who', 'resign'), from: fc.constant(ctx.self) }),
    // An old epoch: the real coordinator's (Date.now()) stays the newest, so this never wins.
    fc.record({ kind: fc.constant('beacon'), from: fc.constant(ctx.self), epoch: fc.oneof(fc.integer({ min: -5, max: 1_000_000 }), fc.constantFrom(NaN, -Infinity)) }),
    fc.record({ kind: fc.constant('frame'), from: fc.constant(ctx.self), targets: fc.array(fc.oneof(weirdString, fc.constant(`${ctx.self}/x`)), { maxLength: 3 }), frame: anyValue }),
    fc.record({ kind: fc.constantFrom('replicate', 'replicated'), from: fc.constant(ctx.self), to: fc.constant(ctx.coordinator), seq: fc.integer({ min: -2, max: 10 }), writes: fc.array(fc.record({ key: weirdString, value: anyValue }), { maxLength: 3 }) }),
  )
  return { requests, control }
}

/** A batch of `size` posts: requests on open links (most), control envelopes, mutated ones, garbage. */
export function envelopeBatch(ctx: EnvelopeContext, size: number, raw = false): fc.Arbitrary<PageItem[]> {
  const { requests, control } = envelopes(ctx)
  // The audit's pairs (a garbage-token login or a durable write, then a deep notify or deep chat), on one link.
  const pairs = fc.tuple(interleaved(ctx.native), fc.constantFrom(...ctx.links)).map(([items, link]) =>
    items.map((item) => ({ kind: 'req', from: ctx.self, to: ctx.coordinator, link, frame: item.kind === 'frame' ? item.value : null })))
  const value = fc.oneof(
    { arbitrary: requests.map((envelope) => [envelope]), weight: 12 },
    { arbitrary: pairs, weight: 2 },
    { arbitrary: control.map((envelope) => [envelope]), weight: 3 },
    { arbitrary: mutated(requests).map((envelope) => [envelope]), weight: 4 },
    { arbitrary: mutated(control).map((envelope) => [envelope]), weight: 1 },
    { arbitrary: fc.oneof(garbage, deep, hugeString.map((text) => text.slice(0, 70_000))).map((envelope) => [envelope]), weight: 2 },
  )
  const posts = value.map((values) => values.map((v): PageItem => ({ kind: 'post', post: toPost(v) })))
  const item = raw
    ? fc.oneof({ arbitrary: posts, weight: 20 }, { arbitrary: rawBytes.map((bytes) => [bytes]), weight: 1 })
    : posts
  return fc.array(item, { minLength: size, maxLength: size }).map((items) => items.flat().slice(0, size))
}

/** What an SDK does first on each link: log in (one user per link) and take its call sId. */
export function linkPrelude(ctx: EnvelopeContext): PageItem[] {
  return ctx.links.flatMap((link, index) => {
    const userId = ctx.native.users[index % ctx.native.users.length]
    return [
      { t: 'req', id: NEXT_ID, op: 'login', args: { appId: ctx.native.appId, userId, token: ctx.native.tokens[userId] } },
      { t: 'req', id: NEXT_ID, op: 'call', args: { cmd: 'sId' } },
    ].map((frame): PageItem => ({ kind: 'post', post: toPost({ kind: 'req', from: ctx.self, to: ctx.coordinator, link, frame }) }))
  })
}

/**
 * Bytes a PeerJS (BinaryPack) receiver must survive: nil and other non-objects where a
 * map is expected, truncated maps and strings, and chunk headers (`__peerData`) with odd
 * counts. Chunk sizes stay small: a chunk's `data` may be a length the receiver allocates.
 */
const rawBytes: fc.Arbitrary<PageItem> = fc.oneof(
  fc.constantFrom<number[]>([0xc0], [0xc2], [0x00], [0xa1, 0x78], [0x81], [0x81, 0xa1], [0xdf, 0xff, 0xff, 0xff, 0xff], [0xdd, 0x7f, 0xff, 0xff, 0xff], [0xd9]),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Array.from(bytes)),
  fc.array(fc.constantFrom(0x91), { minLength: 1_000, maxLength: 1_000 }).map((nesting) => [...nesting, 0xc0]),
).map((bytes): PageItem => ({ kind: 'raw', bytes }))

/** Far from the int32 values and constants the generators put in `id`: numbered requests never share an id with a generated one. */
let ids = 2 ** 40
/** JSON text with bytes pulled out; request ids are numbered here (unique per run). */
export function toPost(value: unknown): PagePost {
  const { text, attachments } = toJsonText(value, 'attach', () => ids++)
  return { text, bytes: attachments.map((bytes) => Array.from(bytes)) }
}

/**
 * The request a post carries that the coordinator must answer: a well-formed `req`
 * envelope from us to it on one of our links, whose frame has a numeric id (an
 * acquireLock with retry may wait for its lock indefinitely, so it is not counted). Returns
 * `link:id`, or null when no answer is owed (malformed envelopes are dropped silently).
 */
export function owedAnswer(post: PagePost, ctx: EnvelopeContext): string | null {
  let value: unknown
  try {
    value = JSON.parse(post.text)
  } catch {
    return null
  }
  const envelope = parseEnvelope(value)
  if (envelope?.kind !== 'req' || envelope.from !== ctx.self || envelope.to !== ctx.coordinator || !ctx.links.includes(envelope.link)) return null
  const frame = envelope.frame as { id?: unknown; op?: unknown; args?: { retry?: unknown } } | null
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return null
  // acquireLock with retry is answered when the lock is granted, however long that takes.
  if (frame.op === 'acquireLock' && frame.args?.retry === true) return null
  return typeof frame.id === 'number' && Number.isFinite(frame.id) ? `${envelope.link}:${frame.id}` : null
}

