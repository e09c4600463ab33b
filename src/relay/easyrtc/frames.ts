import { z } from 'zod'
import { isValidName } from '../../engine/validate'

/**
 * EasyRTC's wire (seed 004, open-easyrtc 2.1.8): what its client may send on `easyrtcAuth`
 * and `easyrtcCmd`, checked in the reference's order so that every failure carries the
 * error code the reference server gives for it (`easyrtc_public_obj.js`
 * isValidIncomingMessage and the event listeners).
 */

/** The reference's error table, text included (clients show errorText to users). */
export const EASYRTC_ERRORS = {
  LOGIN_APP_AUTH_FAIL: 'Authentication for application failed. Socket will be disconnected.',
  LOGIN_BAD_APP_NAME: 'Provided application name is improper. Socket will be disconnected.',
  LOGIN_BAD_AUTH: 'Authentication for application failed. Socket will be disconnected.',
  LOGIN_BAD_ROOM: 'Requested room is invalid or does not exist. Socket will be disconnected.',
  LOGIN_BAD_STRUCTURE: 'Authentication for application failed. The provided structure is improper. Socket will be disconnected.',
  LOGIN_GEN_FAIL: 'Authentication failed. Socket will be disconnected.',
  MSG_REJECT_BAD_DATA: 'Message rejected. The provided msgData is improper.',
  MSG_REJECT_BAD_ROOM: 'Message rejected. Requested room is invalid or does not exist.',
  MSG_REJECT_BAD_FIELD: 'Message rejected. Problem with field structure or name.',
  MSG_REJECT_BAD_SIZE: 'Message rejected. Packet size is too large.',
  MSG_REJECT_BAD_STRUCTURE: 'Message rejected. The provided structure is improper.',
  MSG_REJECT_BAD_TYPE: 'Message rejected. The provided msgType is unsupported.',
  MSG_REJECT_GEN_FAIL: 'Message rejected. General failure occurred.',
  MSG_REJECT_NO_AUTH: 'Message rejected. Not logged in or client not authorized.',
  MSG_REJECT_NO_ROOM_LIST: 'Message rejected. Room list unavailable.',
  MSG_REJECT_PRESENCE: 'Message rejected. Presence could could not be set.',
  MSG_REJECT_TARGET_EASYRTCID: 'Message rejected. Target easyrtcid is invalid, not using same application, or no longer online.',
  MSG_REJECT_TARGET_GROUP: 'Message rejected. Target group is invalid or not defined.',
  MSG_REJECT_TARGET_ROOM: 'Message rejected. Target room is invalid or not created.',
} as const

export type EasyrtcErrorCode = keyof typeof EASYRTC_ERRORS

export interface EasyrtcErrorMsg {
  msgType: 'error'
  serverTime: number
  msgData: { errorCode: EasyrtcErrorCode; errorText: string }
}

export function errorMsg(errorCode: EasyrtcErrorCode, now = Date.now()): EasyrtcErrorMsg {
  return { msgType: 'error', serverTime: now, msgData: { errorCode, errorText: EASYRTC_ERRORS[errorCode] } }
}

/** The reference's default name rules (easyrtc_default_options.js). */
export const API_VERSION_PATTERN = /^[a-z0-9_.+-]{1,32}$/i
export const APP_NAME_PATTERN = /^[a-z0-9_.-]{1,32}$/i
export const EASYRTCSID_PATTERN = /^[a-z0-9_.%-]{1,100}$/i
export const ROOM_NAME_PATTERN = /^[a-z0-9_.-]{1,32}$/i
export const USERNAME_PATTERN = /^(.){1,64}$/i
export const PRESENCE_SHOW_PATTERN = /^(away|chat|dnd|xa)$/
export const PRESENCE_STATUS_PATTERN = /^(.){0,255}$/
/** The reference rejects a room API field map whose JSON reaches this many characters. */
export const MAX_API_FIELD_JSON = 4096

/**
 * A target easyrtcid is any user id of the app: EasyRTC ids match the reference's
 * `[a-z0-9_.-]{1,32}`, and SDK users in a mixed room use the engine's wider name rule.
 */
const targetEasyrtcid = z.string().refine(isValidName)
const roomName = z.string().regex(ROOM_NAME_PATTERN)
/** underscore's _.isObject: anything non-null of type object (arrays too). */
const anyObject = z.custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null)
const nonEmptyObject = anyObject.refine((value) => Object.keys(value).length > 0)
/** `{ name: { roomName: name, roomParameter? } }`: the key and roomName must agree. */
const roomMap = z.record(roomName, z.looseObject({ roomName: z.string(), roomParameter: anyObject.optional() }))
  .refine((rooms) => Object.entries(rooms).every(([key, room]) => key === room.roomName))
const presence = nonEmptyObject.pipe(z.looseObject({
  show: z.string().regex(PRESENCE_SHOW_PATTERN).optional(),
  status: z.string().regex(PRESENCE_STATUS_PATTERN).optional(),
}))

type Stage = readonly [z.ZodType, EasyrtcErrorCode]

/** Runs the stages in order; the first that fails names the error code. */
function check<T>(stages: readonly Stage[], final: z.ZodType<T>, finalCode: EasyrtcErrorCode, value: unknown): { ok: true; value: T } | { ok: false; code: EasyrtcErrorCode } {
  for (const [schema, code] of stages) if (!schema.safeParse(value).success) return { ok: false, code }
  const parsed = final.safeParse(value)
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, code: finalCode }
}

const authMessage = z.looseObject({
  msgType: z.literal('authenticate'),
  msgData: z.looseObject({
    apiVersion: z.string().regex(API_VERSION_PATTERN),
    applicationName: z.string().regex(APP_NAME_PATTERN).optional(),
    easyrtcsid: z.string().regex(EASYRTCSID_PATTERN).optional(),
    username: z.string().regex(USERNAME_PATTERN).optional(),
    credential: nonEmptyObject.optional(),
    roomJoin: roomMap.optional(),
    setPresence: presence.optional(),
    setUserCfg: z.unknown().optional(),
  }),
})
export type AuthMessage = z.infer<typeof authMessage>

/** easyrtcAuth: LOGIN_BAD_AUTH, then LOGIN_BAD_STRUCTURE, then the field rules (MSG_REJECT_BAD_STRUCTURE). */
export function parseAuth(msg: unknown) {
  return check([
    [z.looseObject({ msgType: z.literal('authenticate') }), 'LOGIN_BAD_AUTH'],
    [z.looseObject({ msgData: z.looseObject({ apiVersion: z.string(), roomJoin: anyObject.optional() }) }), 'LOGIN_BAD_STRUCTURE'],
  ], authMessage, 'MSG_REJECT_BAD_STRUCTURE', msg)
}

export const SIGNAL_TYPES = ['candidate', 'offer', 'answer', 'reject', 'hangup'] as const
export type SignalType = (typeof SIGNAL_TYPES)[number]

const withTarget = z.looseObject({ targetEasyrtcid })
const apiFieldCommand = z.looseObject({
  roomName: z.string(),
  field: anyObject.optional(),
})

/** Per msgType: the stages of the reference's checks, then the typed shape. */
const commands = {
  candidate: { stages: [[z.looseObject({ msgData: nonEmptyObject }), 'MSG_REJECT_BAD_DATA']], final: withTarget.extend({ msgData: anyObject }), code: 'MSG_REJECT_BAD_STRUCTURE' },
  offer: { stages: [[z.looseObject({ msgData: nonEmptyObject }), 'MSG_REJECT_BAD_DATA']], final: withTarget.extend({ msgData: anyObject }), code: 'MSG_REJECT_BAD_STRUCTURE' },
  answer: { stages: [[z.looseObject({ msgData: nonEmptyObject }), 'MSG_REJECT_BAD_DATA']], final: withTarget.extend({ msgData: anyObject }), code: 'MSG_REJECT_BAD_STRUCTURE' },
  reject: { stages: [[z.looseObject({ msgData: z.undefined().optional() }), 'MSG_REJECT_BAD_DATA']], final: withTarget, code: 'MSG_REJECT_BAD_STRUCTURE' },
  hangup: { stages: [[z.looseObject({ msgData: z.undefined().optional() }), 'MSG_REJECT_BAD_DATA']], final: withTarget, code: 'MSG_REJECT_BAD_STRUCTURE' },
  getIceConfig: { stages: [], final: z.looseObject({ msgData: anyObject.refine((v) => Object.keys(v).length === 0).optional() }), code: 'MSG_REJECT_BAD_DATA' },
  getRoomList: { stages: [], final: z.looseObject({ msgData: z.undefined().optional() }), code: 'MSG_REJECT_BAD_DATA' },
  roomJoin: { stages: [[z.looseObject({ msgData: anyObject }), 'MSG_REJECT_BAD_DATA']], final: z.looseObject({ msgData: z.looseObject({ roomJoin: roomMap }) }), code: 'MSG_REJECT_BAD_STRUCTURE' },
  roomLeave: { stages: [[z.looseObject({ msgData: anyObject }), 'MSG_REJECT_BAD_DATA']], final: z.looseObject({ msgData: z.looseObject({ roomLeave: roomMap }) }), code: 'MSG_REJECT_BAD_STRUCTURE' },
  setPresence: { stages: [[z.looseObject({ msgData: anyObject }), 'MSG_REJECT_BAD_DATA']], final: z.looseObject({ msgData: z.looseObject({ setPresence: presence }) }), code: 'MSG_REJECT_BAD_STRUCTURE' },
  setRoomApiField: {
    stages: [
      [z.looseObject({ msgData: anyObject }), 'MSG_REJECT_BAD_DATA'],
      [z.looseObject({ msgData: z.looseObject({ setRoomApiField: nonEmptyObject }) }), 'MSG_REJECT_BAD_STRUCTURE'],
      [z.looseObject({ msgData: z.looseObject({ setRoomApiField: z.looseObject({ roomName }) }) }), 'MSG_REJECT_BAD_ROOM'],
      [z.looseObject({ msgData: z.looseObject({ setRoomApiField: apiFieldCommand }) }), 'MSG_REJECT_BAD_STRUCTURE'],
    ],
    final: z.looseObject({ msgData: z.looseObject({ setRoomApiField: apiFieldCommand.refine((c) => c.field === undefined || JSON.stringify(c.field).length < MAX_API_FIELD_JSON) }) }),
    code: 'MSG_REJECT_BAD_SIZE',
  },
  setUserCfg: {
    stages: [[z.looseObject({ msgData: anyObject }), 'MSG_REJECT_BAD_DATA']],
    final: z.looseObject({ msgData: z.looseObject({ setUserCfg: nonEmptyObject.pipe(z.looseObject({ p2pList: nonEmptyObject.optional(), userSettings: nonEmptyObject.optional() })) }) }),
    code: 'MSG_REJECT_BAD_STRUCTURE',
  },
  // Deprecated: 2.1.8 lets it through validation, then answers MSG_REJECT_BAD_TYPE (FACTS.md).
  stillAlive: { stages: [], final: z.unknown(), code: 'MSG_REJECT_BAD_TYPE' },
} as const satisfies Record<string, { stages: readonly Stage[]; final: z.ZodType; code: EasyrtcErrorCode }>

export type CommandType = keyof typeof commands
export type Command = { [K in CommandType]: { msgType: K; msg: z.infer<(typeof commands)[K]['final']> } }[CommandType]

/** easyrtcCmd: a known msgType with a valid body, or the reference's error code. */
export function parseCommand(msg: unknown): { ok: true; command: Command } | { ok: false; code: EasyrtcErrorCode } {
  if (typeof msg !== 'object' || msg === null) return { ok: false, code: 'MSG_REJECT_BAD_STRUCTURE' }
  const msgType = (msg as { msgType?: unknown }).msgType
  if (typeof msgType !== 'string') return { ok: false, code: 'MSG_REJECT_BAD_TYPE' }
  if (!Object.hasOwn(commands, msgType)) return { ok: false, code: 'MSG_REJECT_BAD_TYPE' }
  const spec = commands[msgType as CommandType]
  const result = check(spec.stages, spec.final as z.ZodType, spec.code, msg)
  return result.ok ? { ok: true, command: { msgType, msg: result.value } as Command } : result
}

const peerMessage = z.looseObject({
  msgType: z.string(),
  msgData: z.unknown().optional(),
  targetEasyrtcid: z.string().optional(),
  targetGroup: z.string().optional(),
  targetRoom: z.string().optional(),
})
export type PeerMessage = z.infer<typeof peerMessage>

/** easyrtcMsg: structure, msgType, then each target field with its own code. */
export function parsePeerMessage(msg: unknown) {
  return check([
    [anyObject, 'MSG_REJECT_BAD_STRUCTURE'],
    [z.looseObject({ msgType: z.string() }), 'MSG_REJECT_BAD_TYPE'],
    [z.looseObject({ targetEasyrtcid: targetEasyrtcid.optional() }), 'MSG_REJECT_TARGET_EASYRTCID'],
    [z.looseObject({ targetGroup: z.string().regex(ROOM_NAME_PATTERN).optional() }), 'MSG_REJECT_TARGET_GROUP'],
    [z.looseObject({ targetRoom: roomName.optional() }), 'MSG_REJECT_TARGET_ROOM'],
  ], peerMessage, 'MSG_REJECT_BAD_STRUCTURE', msg)
}
