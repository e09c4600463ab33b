import { ChannelType } from '../../protocol/enums'
import { MAX_OPAQUE_DEPTH, checkShape } from '../../protocol/bounds'
import { rtmError, type ErrorName } from '../../protocol/errors'
import type { EngineLink, EngineReply } from './engine-link'
import {
  ROOM_NAME_PATTERN, errorMsg, parseAuth, parseCommand, parsePeerMessage,
  type AuthMessage, type Command, type EasyrtcErrorCode,
} from './frames'
import {
  clientEntry, clientList, encodeField, isReservedKey, joinStates, updateDelta,
  type ApiField, type ClientEntry, type Presence, type RoomDelta,
} from './roster'

export type Ack = (msg: unknown) => void
export interface IceServer { urls: string | string[]; username?: string; credential?: string }

/** The reference's defaults: application and room a client lands in when it names none. */
export const DEFAULT_APP_NAME = 'default'
export const DEFAULT_ROOM_NAME = 'default'
/** Customtype prefix of WebRTC signals carried as user-channel messages (`webrtc:offer`, …). */
export const SIGNAL_PREFIX = 'webrtc:'
/** EasyRTC sessions end when their socket does (socket.io pings); the engine's own timers stay long. */
export const ENGINE_HEARTBEAT_INTERVAL_S = 1800
const ENGINE_PRESENCE_TIMEOUT_S = 5

export interface SessionDeps {
  link: EngineLink
  /** The ICE servers for this client now (after authentication: TURN credentials are minted per user). */
  iceServers(): IceServer[]
  newEasyrtcid(): string
  now(): number
  disconnect(): void
  /** A task that threw: a bug, reported rather than swallowed (its ack may be unanswered). */
  onError(error: unknown): void
}

interface Room { joinTime: number; apiField: Record<string, ApiField> }

/**
 * One EasyRTC client: its identity, presence and rooms, and the translation of its
 * commands into engine requests. All shared state (members, states, routing) lives in the
 * engine; this keeps only what the client itself said (presence, username, API fields).
 */
export class EasyrtcSession {
  easyrtcid: string | null = null
  appId: string | null = null
  private username: string | undefined
  private presence: Presence = { show: 'chat', status: null }
  readonly rooms = new Map<string, Room>()
  /** Frames of one socket run in arrival order, one at a time, like the reference's callbacks. */
  private queue: Promise<void> = Promise.resolve()

  constructor(private readonly deps: SessionDeps) {}

  run(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((error: unknown) => this.deps.onError(error))
  }

  async authenticate(msg: unknown, ack: Ack): Promise<void> {
    const parsed = parseAuth(msg)
    if (!parsed.ok) return this.refuse(ack, parsed.code)
    const data = parsed.value.msgData
    const appId = data.applicationName ?? DEFAULT_APP_NAME
    if (this.easyrtcid === null) {
      const credential = data.credential as { userId?: unknown; token?: unknown } | undefined
      const userId = typeof credential?.userId === 'string' ? credential.userId : this.deps.newEasyrtcid()
      const login = await this.deps.link.request('login', {
        appId, userId, token: typeof credential?.token === 'string' ? credential.token : undefined,
        heartbeatInterval: ENGINE_HEARTBEAT_INTERVAL_S, presenceTimeout: ENGINE_PRESENCE_TIMEOUT_S,
      })
      if (!login.ok) return this.refuse(ack, 'LOGIN_BAD_AUTH')
      Object.assign(this, { easyrtcid: userId, appId, username: data.username })
    } else if (appId !== this.appId) {
      return this.refuse(ack, 'LOGIN_BAD_AUTH') // one socket, one application
    }
    if (data.setPresence) this.presence = mergePresence(this.presence, data.setPresence)
    const wanted = data.roomJoin && Object.keys(data.roomJoin).length > 0 ? Object.keys(data.roomJoin) : [DEFAULT_ROOM_NAME]
    // A repeated authenticate (the reference allows it) also refreshes the rooms already joined.
    const roomData: Record<string, unknown> = {}
    for (const roomName of new Set([...this.rooms.keys(), ...wanted])) {
      const list = await this.join(roomName)
      if (!list) return this.refuse(ack, 'LOGIN_GEN_FAIL')
      roomData[roomName] = { roomName, roomStatus: 'join', clientList: list }
    }
    ack(this.token(data, roomData))
  }

  async command(raw: unknown, ack: Ack): Promise<void> {
    const parsed = parseCommand(raw)
    if (!parsed.ok) return ack(errorMsg(parsed.code))
    const command: Command = parsed.command
    switch (command.msgType) {
      case 'candidate': case 'offer': case 'answer': case 'reject': case 'hangup': {
        const msgData = 'msgData' in command.msg ? command.msg.msgData : undefined
        const sent = await this.publish(ChannelType.USER, command.msg.targetEasyrtcid, `${SIGNAL_PREFIX}${command.msgType}`, msgData)
        return ack(sent.ok ? { msgType: 'ack' } : errorMsg(publishError(sent.error.name, 'MSG_REJECT_TARGET_EASYRTCID')))
      }
      case 'roomJoin': {
        const names = Object.keys(command.msg.msgData.roomJoin)
        // The reference means this error for an empty map (its listener mis-calls emitReturnError).
        if (names.length === 0) return ack(errorMsg('MSG_REJECT_BAD_STRUCTURE'))
        const roomData: Record<string, unknown> = {}
        for (const roomName of names) {
          const list = await this.join(roomName)
          if (!list) return ack(errorMsg('MSG_REJECT_BAD_ROOM'))
          roomData[roomName] = { roomName, roomStatus: 'join', clientList: list }
        }
        return ack({ msgType: 'roomData', msgData: { roomData } })
      }
      case 'roomLeave': {
        const roomData: Record<string, unknown> = {}
        for (const roomName of Object.keys(command.msg.msgData.roomLeave)) {
          if (this.rooms.delete(roomName)) await this.deps.link.request('unsubscribe', { channelName: roomName })
          roomData[roomName] = { roomName, roomStatus: 'leave' }
        }
        return ack({ msgType: 'roomData', msgData: { roomData } })
      }
      case 'getIceConfig':
        return ack({ msgType: 'iceConfig', msgData: { iceConfig: { iceServers: this.deps.iceServers() } } })
      case 'getRoomList': {
        const reply = await this.deps.link.request('getChannelList')
        if (!reply.ok) return ack(errorMsg('MSG_REJECT_NO_ROOM_LIST'))
        const roomList: Record<string, { roomName: string; numberClients: number }> = {}
        for (const { channelName, occupancy } of reply.result.channels as { channelName: string; occupancy: number }[]) {
          if (ROOM_NAME_PATTERN.test(channelName)) roomList[channelName] = { roomName: channelName, numberClients: occupancy }
        }
        return ack({ msgType: 'roomList', msgData: { roomList } })
      }
      case 'setPresence':
        return ack(await this.setPresence(command.msg.msgData.setPresence))
      case 'setRoomApiField': {
        const { roomName, field } = command.msg.msgData.setRoomApiField
        return ack(await this.setRoomApiField(roomName, field ?? {}))
      }
      case 'setUserCfg':
        return ack({ msgType: 'ack' }) // the reference stores nothing either ("not yet complete")
      case 'stillAlive':
        return ack(errorMsg('MSG_REJECT_BAD_TYPE'))
      default: {
        const unhandled: never = command
        void unhandled
        return ack(errorMsg('MSG_REJECT_BAD_TYPE'))
      }
    }
  }

  /** easyrtcMsg: to one user (optionally checked against a room), to a room, or to a group. */
  async message(raw: unknown, ack: Ack): Promise<void> {
    const parsed = parsePeerMessage(raw)
    if (!parsed.ok) return ack(errorMsg(parsed.code))
    const { msgType, msgData, targetEasyrtcid, targetRoom, targetGroup } = parsed.value
    if (msgType.startsWith(SIGNAL_PREFIX)) return ack(errorMsg('MSG_REJECT_BAD_TYPE')) // signals go through easyrtcCmd
    if (targetEasyrtcid !== undefined) {
      if (targetEasyrtcid === this.easyrtcid) return ack(errorMsg('MSG_REJECT_TARGET_EASYRTCID'))
      if (targetRoom && (!this.rooms.has(targetRoom) || !(await this.isInRoom(targetEasyrtcid, targetRoom)))) return ack(errorMsg('MSG_REJECT_TARGET_ROOM'))
      // Groups are never assigned (as in the reference's default server), so no target is in one.
      if (targetGroup) return ack(errorMsg('MSG_REJECT_TARGET_GROUP'))
      const sent = await this.publish(ChannelType.USER, targetEasyrtcid, msgType, msgData)
      // The reference answers an offline target with GEN_FAIL (its connection lookup fails).
      return ack(sent.ok ? { msgType: 'ack' } : errorMsg(publishError(sent.error.name, 'MSG_REJECT_GEN_FAIL')))
    }
    if (targetRoom) {
      if (!this.rooms.has(targetRoom)) return ack(errorMsg('MSG_REJECT_TARGET_ROOM'))
      if (targetGroup) return ack({ msgType: 'ack' }) // room members filtered by group: nobody
      const sent = await this.publish(ChannelType.MESSAGE, targetRoom, msgType, msgData)
      return ack(sent.ok ? { msgType: 'ack' } : errorMsg(publishError(sent.error.name, 'MSG_REJECT_TARGET_ROOM')))
    }
    if (targetGroup) return ack(errorMsg('MSG_REJECT_TARGET_GROUP'))
    // A server message: the reference leaves it to server code and never answers; there is none here.
    return ack(errorMsg('MSG_REJECT_BAD_STRUCTURE'))
  }

  /** The socket is gone: leave every room now (EasyRTC has no resume window). */
  async disconnected(): Promise<void> {
    if (this.easyrtcid !== null) await this.deps.link.request('logout')
    this.rooms.clear()
  }

  heartbeat(): void {
    if (this.easyrtcid !== null) void this.deps.link.request('heartbeat')
  }

  private async refuse(ack: Ack, code: EasyrtcErrorCode): Promise<void> {
    ack(errorMsg(code))
    this.deps.disconnect()
  }

  /** Joins a room's channel carrying this client's presence; returns the clientList, or null. */
  private async join(roomName: string): Promise<Record<string, ClientEntry> | null> {
    const { link, now } = this.deps
    const current = this.rooms.get(roomName)
    const joinTime = current?.joinTime ?? now()
    if (!current) {
      // States set before subscribing ride on the join itself: one announcement, not two.
      const states = await link.request('setState', { channelName: roomName, channelType: ChannelType.MESSAGE, states: joinStates(this.presence, this.username, joinTime) })
      if (!states.ok) return null
    }
    const joined = await link.subscribe(roomName)
    if (!joined.ok) return null
    if (!current) this.rooms.set(roomName, { joinTime, apiField: {} })
    return clientList(joined.snapshot, now())
  }

  private token(data: AuthMessage['msgData'], roomData: Record<string, unknown>): unknown {
    const msgData: Record<string, unknown> = {
      easyrtcid: this.easyrtcid,
      iceConfig: { iceServers: this.deps.iceServers() },
      roomData,
      application: { applicationName: this.appId },
      serverTime: this.deps.now(),
    }
    if (data.easyrtcsid !== undefined) msgData.sessionData = { easyrtcsid: data.easyrtcsid }
    return { msgType: 'token', msgData }
  }

  private async setPresence(update: { show?: string; status?: string }): Promise<unknown> {
    this.presence = mergePresence(this.presence, update)
    const states: Record<string, string> = { show: this.presence.show }
    if (this.presence.status !== null) states.status = this.presence.status
    const roomData: Record<string, RoomDelta> = {}
    for (const roomName of this.rooms.keys()) {
      const reply = await this.deps.link.request('setState', { channelName: roomName, channelType: ChannelType.MESSAGE, states })
      if (!reply.ok) return errorMsg('MSG_REJECT_PRESENCE')
      roomData[roomName] = updateDelta(roomName, [this.selfEntry(roomName)])
    }
    return { msgType: 'roomData', msgData: { roomData } }
  }

  /** Replaces this client's API fields in one room (the reference replaces, not merges). */
  private async setRoomApiField(roomName: string, field: Record<string, unknown>): Promise<unknown> {
    const room = this.rooms.get(roomName)
    if (!room) return errorMsg('MSG_REJECT_BAD_ROOM')
    if (Object.keys(field).some(isReservedKey)) return errorMsg('MSG_REJECT_BAD_FIELD')
    const channel = { channelName: roomName, channelType: ChannelType.MESSAGE }
    const removed = Object.keys(room.apiField).filter((name) => !Object.hasOwn(field, name))
    if (removed.length > 0) {
      const reply = await this.deps.link.request('removeState', { ...channel, states: removed })
      if (!reply.ok) return errorMsg('MSG_REJECT_BAD_FIELD')
    }
    const states = Object.fromEntries(Object.entries(field).map(([name, value]) => [name, encodeField(value)]))
    if (Object.keys(states).length > 0) {
      const reply = await this.deps.link.request('setState', { ...channel, states })
      if (!reply.ok) return errorMsg('MSG_REJECT_BAD_FIELD')
    }
    room.apiField = Object.fromEntries(Object.entries(states).map(([name, json]) => [name, { fieldName: name, fieldValue: JSON.parse(json) as unknown }]))
    return { msgType: 'roomData', msgData: { roomData: { [roomName]: updateDelta(roomName, [this.selfEntry(roomName)]) } } }
  }

  private selfEntry(roomName: string): ClientEntry {
    const room = this.rooms.get(roomName)!
    const entry = clientEntry(this.easyrtcid!, joinStates(this.presence, this.username, room.joinTime), room.joinTime)
    if (Object.keys(room.apiField).length > 0) entry.apiField = room.apiField
    return entry
  }

  private async isInRoom(userId: string, roomName: string): Promise<boolean> {
    const reply = await this.deps.link.request('getState', { channelName: roomName, channelType: ChannelType.MESSAGE, userId })
    return reply.ok
  }

  /** msgType rides as customType, msgData as JSON text (empty when absent). */
  private async publish(channelType: number, channelName: string, customType: string, msgData: unknown): Promise<EngineReply> {
    // Handed to other clients as it is: bounded like every opaque payload (protocol/bounds.ts).
    const shape = checkShape(msgData, MAX_OPAQUE_DEPTH)
    if (!shape.ok) return { ok: false, error: rtmError('INVALID_PARAMETER', 'publish', `msgData ${shape.reason}`) }
    const message = msgData === undefined ? '' : JSON.stringify(msgData)
    return this.deps.link.request('publish', { channelName, channelType, customType, message })
  }
}

function mergePresence(current: Presence, update: { show?: string; status?: string }): Presence {
  return { show: update.show ?? current.show, status: update.status ?? current.status }
}

/** Engine refusals of a publish in EasyRTC's codes; `otherwise` is the command's own target error. */
function publishError(name: ErrorName, otherwise: EasyrtcErrorCode): EasyrtcErrorCode {
  if (name === 'INVALID_PARAMETER') return 'MSG_REJECT_BAD_DATA'
  if (name === 'CHANNEL_MESSAGE_LENGTH_EXCEED_LIMITATION') return 'MSG_REJECT_BAD_SIZE'
  if (name === 'CHANNEL_CUSTOM_TYPE_LENGTH_OVERFLOW') return 'MSG_REJECT_BAD_TYPE'
  return otherwise
}
