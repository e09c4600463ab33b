import fc from 'fast-check'
import { Deep, NEXT_ID, oversizedLast, toJsonText, utf8Bytes } from './json-text'

/** socket.io's maxHttpBufferSize on the relay: a bigger message closes the connection. */
export const SOCKET_IO_LIMIT = 1_000_000
import { anyValue, bigBytes, bytes, deep, garbage, hugeString, mutated, weirdString } from './garbage'
import { roomTemplates } from './rooms-frames'

/** What the generator may name: the app, its users and channels, and who has a call sId. */
export interface NativeContext {
  appId: string
  /** Users this lane logs in as, with a valid token each (secret mode). */
  users: string[]
  tokens: Record<string, string>
  /** Tokens that must fail: expired, wrong secret, another user, alg none, junk. */
  badTokens: string[]
  /** The channel shared with the well-behaved clients and the EasyRTC member. */
  room: string
  /** sIds that exist (well-behaved call clients), so notify/session reach someone. */
  callees: string[]
  /** Users other than ours (well-behaved clients) for USER-channel messages. */
  others: string[]
}

/** One thing a fuzz connection sends. */
export type NativeItem =
  | { kind: 'frame'; value: unknown }
  | { kind: 'event'; event: string; args: unknown[] }
  | { kind: 'raw'; data: string | Uint8Array }

const OPS = [
  'login', 'logout', 'renewToken', 'heartbeat', 'subscribe', 'unsubscribe', 'publish', 'getOnlineUsers', 'getUserChannels',
  'setState', 'getState', 'removeState', 'getChannelList', 'joinStream', 'leaveStream', 'joinTopic', 'leaveTopic',
  'publishTopicMessage', 'subscribeTopic', 'unsubscribeTopic', 'setChannelMetadata', 'updateChannelMetadata',
  'removeChannelMetadata', 'getChannelMetadata', 'setUserMetadata', 'updateUserMetadata', 'removeUserMetadata',
  'getUserMetadata', 'subscribeUserMetadata', 'unsubscribeUserMetadata', 'setLock', 'acquireLock', 'releaseLock',
  'revokeLock', 'removeLock', 'getLock', 'call', 'room', 'getMessages', 'recoverMessages',
] as const

const req = (op: string, args: unknown) => ({ t: 'req', id: NEXT_ID, op, args })
const hex = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength, maxLength })

/** `[[[…]]]` as text: a valid ≤ 32 KB payload that an EasyRTC member's codec re-parses. */
export const deepText = fc.constantFrom(1_000, 8_000, 16_000).map((depth) => new Deep(depth, 'array').text())

/** Valid requests of every op, aimed at the shared room and at real users and sIds. */
export function nativeTemplates(ctx: NativeContext): fc.Arbitrary<Record<string, unknown>> {
  const user = fc.constantFrom(...ctx.users)
  const channel = fc.constantFrom(ctx.room, 'fz-side')
  const message = fc.oneof(
    { arbitrary: fc.string({ maxLength: 40 }), weight: 5 },
    { arbitrary: fc.oneof({ arbitrary: bytes, weight: 4 }, { arbitrary: bigBytes, weight: 1 }), weight: 2 },
    { arbitrary: deepText, weight: 2 },
    { arbitrary: fc.constantFrom(32_768, 32_769).map((length) => 'm'.repeat(length)), weight: 1 },
  )
  const channelTarget = { channelName: channel, channelType: fc.constant(1) }
  const lockTarget = { ...channelTarget, lockName: fc.constantFrom('pen', 'fz-lock', '__proto__') }
  const items = fc.array(fc.record({ key: fc.constantFrom('k', 'constructor', '__proto__', 'x'.repeat(65)), value: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('v'.repeat(8193))) }), { minLength: 1, maxLength: 3 })
  const callee = fc.constantFrom(...ctx.callees)
  const callMessage = fc.oneof(
    fc.record({ cmd: fc.constant('sId'), sId: fc.option(fc.constantFrom(...ctx.users.map((u) => `sid-${u}`)), { nil: undefined }) }),
    fc.record({ cmd: fc.constant('session'), opponentId: callee }),
    fc.record({ cmd: fc.constant('call'), sessionId: hex(32, 32), offer: fc.constant({ type: 'offer', sdp: 'v=0\r\n' }) }),
    fc.record({ cmd: fc.constant('icecandidate'), sessionId: hex(1, 32), icecandidate: fc.constant({ candidate: '', sdpMid: '0' }) }),
    fc.record({ cmd: fc.constant('claim'), sessionId: fc.oneof(hex(1, 32), fc.constant('s'.repeat(129))), opponentId: callee }),
    // The audit's crash: notify data nested far past the stack, to a real sId.
    fc.record({ cmd: fc.constant('notify'), opponentId: callee, type: fc.constantFrom('mute', 'x'), data: fc.oneof(anyValue, deep) }),
  )
  return fc.oneof(
    { arbitrary: fc.record({ appId: fc.constant(ctx.appId), userId: user, token: fc.oneof(user.map((u) => ctx.tokens[u]), fc.constantFrom(...ctx.badTokens)) }).map((args) => req('login', args)), weight: 4 },
    { arbitrary: fc.constantFrom('logout', 'heartbeat', 'getChannelList').map((op) => req(op, {})), weight: 1 },
    { arbitrary: fc.constantFrom(...ctx.badTokens).map((token) => req('renewToken', { token })), weight: 1 },
    { arbitrary: fc.record({ channelName: channel, withMessage: fc.boolean(), withPresence: fc.boolean(), withMetadata: fc.boolean(), withLock: fc.boolean() }).map((args) => req('subscribe', args)), weight: 2 },
    { arbitrary: fc.record({ channelName: channel, channelType: fc.constant(1), message, customType: fc.option(fc.constantFrom('chat', 'x'.repeat(33)), { nil: undefined }), storeInHistory: fc.option(fc.boolean(), { nil: undefined }) }).map((args) => req('publish', args)), weight: 6 },
    { arbitrary: fc.record({ channelName: fc.constantFrom(...ctx.others), channelType: fc.constant(3), message, storeInHistory: fc.option(fc.boolean(), { nil: undefined }) }).map((args) => req('publish', args)), weight: 1 },
    // History: pages with any bounds (including end after start and counts out of range), and recovery from any place.
    { arbitrary: fc.record({ channelName: fc.oneof(channel, fc.constantFrom(...ctx.others)), channelType: fc.constantFrom(1, 2, 3), messageCount: fc.option(fc.constantFrom(0, 1, 50, 100, 101, -1), { nil: undefined }), start: fc.option(fc.oneof(fc.constant(0), fc.nat(), fc.constant(2 ** 53)), { nil: undefined }), end: fc.option(fc.oneof(fc.constant(0), fc.nat()), { nil: undefined }) }).map((args) => req('getMessages', args)), weight: 2 },
    { arbitrary: fc.record({ channelName: channel, epoch: fc.oneof(fc.constant(''), fc.string({ maxLength: 70 })), offset: fc.oneof(fc.nat(), fc.constant(2 ** 53), fc.constant(-1)) }).map((args) => req('recoverMessages', args)), weight: 1 },
    { arbitrary: fc.record(channelTarget).map((args) => req('getOnlineUsers', args)), weight: 1 },
    { arbitrary: fc.record({ ...channelTarget, states: fc.dictionary(fc.constantFrom('show', '__proto__', 'constructor', 'k'), fc.string({ maxLength: 12 })) }).map((args) => req('setState', args)), weight: 1 },
    { arbitrary: fc.record({ ...channelTarget, items }).map((args) => req('setChannelMetadata', args)), weight: 2 },
    { arbitrary: fc.record({ items }).map((args) => req('setUserMetadata', args)), weight: 3 },
    { arbitrary: fc.record({ ...lockTarget, ttl: fc.constantFrom(10, 60, 9, 301) }).map((args) => req('setLock', args)), weight: 3 },
    { arbitrary: fc.record({ ...lockTarget, retry: fc.boolean() }).map((args) => req('acquireLock', args)), weight: 1 },
    { arbitrary: fc.record(lockTarget).map((args) => req('releaseLock', args)), weight: 1 },
    { arbitrary: fc.record(lockTarget).map((args) => req('removeLock', args)), weight: 1 },
    { arbitrary: fc.record({ channelName: channel }).map((args) => req('joinStream', args)), weight: 1 },
    { arbitrary: fc.record({ channelName: channel, topicName: fc.constantFrom('news', '__proto__') }).map((args) => req('joinTopic', args)), weight: 1 },
    { arbitrary: fc.record({ channelName: channel, topicName: fc.constant('news'), message }).map((args) => req('publishTopicMessage', args)), weight: 1 },
    { arbitrary: callMessage.map((args) => req('call', args)), weight: 6 },
    // Seed 003 room frames as the native op `room`, as the logged-in users (their ss.userId must be theirs).
    { arbitrary: roomTemplates({ users: ctx.users, sessions: ctx.users.map((userId) => ({ userId, sessionId: `${userId}-room` })), rids: [ctx.room, 'fz-native-room'], others: ['obs-ra-1'] }).map((args) => req('room', args)), weight: 4 },
  )
}

/** Frames built from nothing: any op or none, any args, ids of every type. */
function generatedFrames(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.record({ t: fc.constant('req'), id: fc.constant(NEXT_ID), op: fc.oneof(fc.constantFrom(...OPS), weirdString), args: garbage }), weight: 6 },
    { arbitrary: fc.record({ t: fc.oneof(fc.constant('req'), weirdString), id: fc.oneof(fc.constant(NEXT_ID), fc.constantFrom(-1, 0.5, 2 ** 53, 1e300), weirdString), op: fc.constantFrom(...OPS), args: anyValue }, { requiredKeys: ['id'] }), weight: 2 },
    { arbitrary: garbage, weight: 2 },
    { arbitrary: hugeString, weight: 1 },
  )
}

/**
 * The audit's combinations (finding 1): a login with a garbage token or a durable write,
 * then in the same TCP write a deep notify or a deep chat message that an EasyRTC member
 * re-parses. The generic generators make them too, but rarely.
 */
export function interleaved(ctx: NativeContext): fc.Arbitrary<NativeItem[]> {
  const first = fc.oneof(
    fc.record({ appId: fc.constant(ctx.appId), userId: fc.constantFrom(...ctx.users), token: fc.constantFrom(...ctx.badTokens) }).map((args) => req('login', args)),
    fc.constantFrom('pen', 'fz-lock').map((lockName) => req('setLock', { channelName: ctx.room, channelType: 1, lockName, ttl: 60 })),
    fc.string({ maxLength: 8 }).map((value) => req('setUserMetadata', { items: [{ key: 'k', value }] })),
  )
  const second = fc.oneof(
    fc.tuple(fc.constantFrom(...ctx.callees), deep).map(([opponentId, data]) => req('call', { cmd: 'notify', opponentId, type: 'x', data })),
    deepText.map((message) => req('publish', { channelName: ctx.room, channelType: 1, message })),
    fc.tuple(fc.constantFrom(...ctx.others), deepText).map(([channelName, message]) => req('publish', { channelName, channelType: 3, message })),
  )
  return fc.tuple(first, second).map((frames) => frames.map((value): NativeItem => ({ kind: 'frame', value })))
}

/** A session: usually a login and a call sId first, then valid, mutated, generated and interleaved frames. */
export function nativeSession(ctx: NativeContext, length: number): fc.Arbitrary<NativeItem[]> {
  const templates = nativeTemplates(ctx)
  const frame = fc.oneof(
    { arbitrary: templates, weight: 9 },
    { arbitrary: mutated(templates), weight: 6 },
    { arbitrary: generatedFrames(), weight: 4 },
  ).map((value): NativeItem[] => [{ kind: 'frame', value }])
  const otherEvent = fc.record({ event: fc.oneof(fc.constantFrom('g', 'F', '__proto__'), weirdString), args: fc.array(garbage, { maxLength: 2 }) })
    .map(({ event, args }): NativeItem[] => [{ kind: 'event', event, args }])
  const extraArgs = fc.tuple(templates, garbage).map(([value, extra]): NativeItem[] => [{ kind: 'event', event: 'f', args: [value, extra] }])
  const item = fc.oneof({ arbitrary: frame, weight: 30 }, { arbitrary: interleaved(ctx), weight: 3 }, { arbitrary: otherEvent, weight: 1 }, { arbitrary: extraArgs, weight: 1 })
  // Three sessions in four log in with a valid token and take their call sId, so most frames run as a logged-in user.
  const start = fc.constantFrom(...ctx.users).map((user): NativeItem[] => [
    { kind: 'frame', value: req('login', { appId: ctx.appId, userId: user, token: ctx.tokens[user] }) },
    { kind: 'frame', value: req('call', { cmd: 'sId' }) },
  ])
  // A broken packet or a reserved event name ends the connection, so it only ever comes last.
  const parting = fc.oneof(
    { arbitrary: fc.constant(null), weight: 9 },
    { arbitrary: fc.constantFrom('42[', '4', '45-["f"]', '451-["f",{"_placeholder":true,"num":7}]', '4{}', '9', '42/nowhere,["f",{}]', '42["disconnect"]', '42["connect",{}]').map((data): NativeItem => ({ kind: 'raw', data })), weight: 1 },
    { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((data): NativeItem => ({ kind: 'raw', data })), weight: 1 },
  )
  return fc.tuple(fc.option(start, { freq: 4, nil: undefined }), fc.array(item, { minLength: length, maxLength: length }), parting)
    .map(([first, items, last]) => [...(first ?? []), ...oversizedLast(items.flat().slice(0, length), SOCKET_IO_LIMIT, nativeItemBytes), ...(last ? [last] : [])])
}

function nativeItemBytes(item: NativeItem): number {
  if (item.kind === 'raw') return typeof item.data === 'string' ? utf8Bytes(item.data) : item.data.byteLength
  return utf8Bytes(toJsonText(item.kind === 'frame' ? item.value : item.args).text)
}
