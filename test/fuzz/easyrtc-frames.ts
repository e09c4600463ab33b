import fc from 'fast-check'
import { anyValue, deep, garbage, hugeString, mutated, weirdString } from './garbage'
import { oversizedLast, toJsonText, utf8Bytes } from './json-text'
import { SOCKET_IO_LIMIT } from './native-frames'

/** What the EasyRTC generator may name. */
export interface EasyrtcContext {
  appId: string
  /** Users of this lane, each with a valid token (credential.userId/token). */
  users: string[]
  tokens: Record<string, string>
  badTokens: string[]
  /** The room shared with the well-behaved members. */
  room: string
  /** easyrtcids that exist (well-behaved members). */
  members: string[]
}

/** One emit on the /easyrtc namespace; `ack` asks for an answer (the client's callback). */
export interface EasyrtcItem { event: string; msg: unknown; extra?: unknown; ack: boolean }

const API_VERSION = '1.1.1-beta'

/** A valid authentication (a refused one ends the connection, so mutations make the invalid ones). */
export function authTemplate(ctx: EasyrtcContext): fc.Arbitrary<Record<string, unknown>> {
  const user = fc.constantFrom(...ctx.users)
  return fc.record({
    msgType: fc.constant('authenticate'),
    msgData: fc.record({
      apiVersion: fc.constant(API_VERSION),
      applicationName: fc.constant(ctx.appId),
      credential: user.map((userId) => ({ userId, token: ctx.tokens[userId] })),
      roomJoin: fc.constantFrom({ [ctx.room]: { roomName: ctx.room } }, { side: { roomName: 'side' } }),
      setPresence: fc.record({ show: fc.constantFrom('chat', 'away'), status: fc.string({ maxLength: 12, unit: 'grapheme-ascii' }) }),
      username: fc.option(fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme-ascii' }), { nil: undefined }),
    }, { requiredKeys: ['apiVersion', 'applicationName', 'credential'] }),
  })
}

/** Authentications that must be refused (the connection ends): bad tokens, names, presence. */
function refusedAuth(ctx: EasyrtcContext): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    msgType: fc.constant('authenticate'),
    msgData: fc.record({
      apiVersion: fc.constantFrom(API_VERSION, '', 'x'.repeat(33)),
      applicationName: fc.constantFrom(ctx.appId, 'x'.repeat(33), 'bad app'),
      credential: fc.record({ userId: fc.constantFrom(...ctx.users), token: fc.constantFrom(...ctx.badTokens) }),
      setPresence: fc.record({ show: fc.constantFrom('bad', 'chat') }),
    }),
  })
}

/** easyrtcCmd bodies of every msgType, aimed at real rooms and members. */
function commandTemplate(ctx: EasyrtcContext): fc.Arbitrary<Record<string, unknown>> {
  const room = fc.constantFrom(ctx.room, 'side', '__proto__')
  const target = fc.constantFrom(...ctx.members, ...ctx.users, 'nobody')
  const roomMap = room.map((roomName) => Object.fromEntries([[roomName, { roomName }]]))
  return fc.oneof(
    fc.record({ msgType: fc.constantFrom('offer', 'answer', 'candidate'), targetEasyrtcid: target, msgData: fc.oneof(fc.constant({ type: 'offer', sdp: 'v=0\r\n' }), anyValue, deep) }),
    fc.record({ msgType: fc.constantFrom('reject', 'hangup'), targetEasyrtcid: target }),
    fc.record({ msgType: fc.constant('roomJoin'), msgData: roomMap.map((roomJoin) => ({ roomJoin })) }),
    fc.record({ msgType: fc.constant('roomLeave'), msgData: roomMap.map((roomLeave) => ({ roomLeave })) }),
    fc.constantFrom({ msgType: 'getIceConfig' }, { msgType: 'getRoomList' }, { msgType: 'stillAlive' }),
    fc.record({ msgType: fc.constant('setPresence'), msgData: fc.record({ setPresence: fc.record({ show: fc.constantFrom('away', 'dnd'), status: fc.string({ maxLength: 20 }) }) }) }),
    fc.record({ msgType: fc.constant('setRoomApiField'), msgData: fc.record({ setRoomApiField: fc.record({ roomName: room, field: fc.dictionary(fc.constantFrom('name', '__proto__', 'constructor', 'show'), fc.oneof(anyValue, deep)) }) }) }),
    fc.record({ msgType: fc.constant('setUserCfg'), msgData: fc.constant({ setUserCfg: { userSettings: { a: 1 } } }) }),
  )
}

/** easyrtcMsg: to the room, to a member, to a group; msgData of any shape, deep or huge. */
function messageTemplate(ctx: EasyrtcContext): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    msgType: fc.constantFrom('chat', 'x'.repeat(33), 'webrtc:offer', ''),
    msgData: fc.oneof({ arbitrary: fc.string({ maxLength: 30 }), weight: 3 }, { arbitrary: anyValue, weight: 3 }, { arbitrary: deep, weight: 2 }, { arbitrary: hugeString, weight: 1 }),
    targetRoom: fc.option(fc.constantFrom(ctx.room, 'side', 'BAD ROOM'), { nil: undefined }),
    targetEasyrtcid: fc.option(fc.constantFrom(...ctx.members, 'nobody'), { nil: undefined }),
    targetGroup: fc.option(fc.constantFrom('g', 'bad group'), { nil: undefined }),
  }, { requiredKeys: ['msgType'] })
}

/** A connection's emits: mostly an authentication first, then commands and messages, valid, mutated or generated. */
export function easyrtcSession(ctx: EasyrtcContext, length: number): fc.Arbitrary<EasyrtcItem[]> {
  const commands = commandTemplate(ctx)
  const messages = messageTemplate(ctx)
  const auth = authTemplate(ctx)
  const body = (valid: fc.Arbitrary<Record<string, unknown>>) =>
    fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: mutated(valid), weight: 4 }, { arbitrary: garbage, weight: 2 })
  const extra = fc.oneof({ arbitrary: fc.constant(undefined), weight: 9 }, { arbitrary: garbage, weight: 1 })
  // The reference ignores commands without a callback, so a few go without one.
  const ack = fc.oneof({ arbitrary: fc.constant(true), weight: 19 }, { arbitrary: fc.constant(false), weight: 1 })
  const emit = (event: string, msg: fc.Arbitrary<unknown>) => fc.record({ event: fc.constant(event), msg, extra, ack }, { requiredKeys: ['event', 'msg', 'ack'] })
  const item: fc.Arbitrary<EasyrtcItem> = fc.oneof(
    { arbitrary: emit('easyrtcCmd', body(commands)), weight: 12 },
    { arbitrary: emit('easyrtcMsg', body(messages)), weight: 12 },
    // A repeated authentication is allowed (it refreshes the rooms).
    { arbitrary: fc.record({ event: fc.constant('easyrtcAuth'), msg: auth, ack: fc.constant(true) }), weight: 1 },
    { arbitrary: fc.record({ event: fc.oneof(fc.constantFrom('f', 'easyrtcauth', 'easyrtcCmd '), weirdString), msg: garbage, ack }), weight: 1 },
  )
  // What ends a connection comes last: a refused authentication, one without a callback, a reserved event name.
  const parting = fc.oneof(
    { arbitrary: fc.constant(null), weight: 8 },
    { arbitrary: fc.record({ event: fc.constant('easyrtcAuth'), msg: fc.oneof(refusedAuth(ctx), mutated(auth), garbage), ack: fc.constant(true) }), weight: 1 },
    { arbitrary: fc.record({ event: fc.constantFrom('easyrtcAuth', 'disconnect', 'connect', 'disconnecting', 'newListener'), msg: auth, ack: fc.boolean() }), weight: 1 },
  )
  const validAuth = fc.constantFrom(...ctx.users).map((userId): EasyrtcItem => ({
    event: 'easyrtcAuth', ack: true,
    msg: { msgType: 'authenticate', msgData: { apiVersion: API_VERSION, applicationName: ctx.appId, credential: { userId, token: ctx.tokens[userId] }, roomJoin: { [ctx.room]: { roomName: ctx.room } } } },
  }))
  return fc.tuple(fc.option(validAuth, { freq: 5, nil: undefined }), fc.array(item, { minLength: length, maxLength: length }), parting)
    .map(([first, items, last]) => [...(first ? [first] : []), ...oversizedLast(items, SOCKET_IO_LIMIT, (item) => utf8Bytes(toJsonText([item.msg, item.extra]).text)), ...(last ? [last] : [])])
}
