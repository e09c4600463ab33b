import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import vm from 'node:vm'
import { io, type Socket } from 'socket.io-client'
import { until } from './helpers'

/**
 * The real open-easyrtc 2.1.8 browser client (`api/easyrtc.js`, unmodified) running in
 * Node: each instance gets its own `vm` context with the small fake window it needs
 * (FACTS.md) and socket.io-client as `window.io`.
 */
const clientSource = readFileSync(createRequire(import.meta.url).resolve('open-easyrtc/api/easyrtc.js'), 'utf8')
const script = new vm.Script(clientSource, { filename: 'open-easyrtc/api/easyrtc.js' })

export interface EasyrtcError { errorCode: string; errorText: string }
export interface PeerMessage { sender: string; msgType: string; msgData: unknown; targeting: Record<string, string> }
type Occupants = Record<string, { easyrtcid: string; username?: string; presence: { show: string; status: string | null }; apiField?: Record<string, { fieldName: string; fieldValue: unknown }>; roomJoinTime: number }>

/** The subset of the client's API the tests drive. */
interface EasyrtcApi {
  setSocketUrl(url: string, options?: object): void
  setUsername(name: string): boolean
  setCredential(credential: object): void
  setErrorListener(handler: (error: EasyrtcError) => void): void
  setRoomOccupantListener(listener: (roomName: string | null, occupants: Occupants, myInfo: unknown) => void): void
  setAcceptChecker(check: (caller: string, reply: (accept: boolean) => void) => void): void
  setPeerListener(listener: (sender: string, msgType: string, msgData: unknown, targeting: Record<string, string>) => void): void
  connect(app: string, ok: (id: string) => void, fail: (code: string, text: string) => void): void
  disconnect(): void
  joinRoom(room: string, params: object | null, ok: (room: string) => void, fail: (code: string, text: string) => void): void
  leaveRoom(room: string, ok: (room: string) => void, fail: (code: string, text: string) => void): void
  getRoomList(ok: (list: Record<string, { roomName: string; numberClients: number }>) => void, fail: (code: string, text: string) => void): void
  getRoomOccupantsAsMap(room: string): Occupants | undefined
  getRoomsJoined(): Record<string, true>
  updatePresence(show: string, status: string): void
  setRoomApiField(room: string, name: string, value?: unknown): void
  getFreshIceConfig(callback: (ok: boolean) => void): void
  sendPeerMessage(destination: string | object, msgType: string, msgData: unknown, ok: (msgType: string, msgData: unknown) => void, fail: (code: string, text: string) => void): void
  sendServerMessage(msgType: string, msgData: unknown, ok: (msgType: string, msgData: unknown) => void, fail: (code: string, text: string) => void): void
  webSocket: Socket | null
  myEasyrtcid: string
  roomJoin: Record<string, unknown>
}

export class EasyrtcClient {
  readonly api: EasyrtcApi
  readonly errors: EasyrtcError[] = []
  readonly peerMessages: PeerMessage[] = []
  /** The last occupant list the client reported per room (its own entry excluded). */
  readonly occupants = new Map<string, Occupants>()
  readonly window: Record<string, unknown>

  constructor(relayUrl: string) {
    const window: Record<string, unknown> = {
      console, setTimeout, clearTimeout, setInterval, clearInterval,
      io, innerWidth: 1280, innerHeight: 720, screen: { width: 1280, height: 720 },
      navigator: { userAgent: 'node', language: 'en', cookieEnabled: false },
      document: { cookie: '', createElement: () => ({ style: {} }), getElementById: () => null },
      location: { protocol: 'http:', href: relayUrl },
    }
    window.window = window
    const context = vm.createContext(window)
    script.runInContext(context)
    this.window = window
    this.api = window.easyrtc as EasyrtcApi
    this.api.setSocketUrl(`${relayUrl}/easyrtc`)
    this.api.setErrorListener((error) => this.errors.push(error))
    this.api.setRoomOccupantListener((roomName, occupants) => { if (roomName) this.occupants.set(roomName, occupants) })
    this.api.setPeerListener((sender, msgType, msgData, targeting) => this.peerMessages.push({ sender, msgType, msgData, targeting }))
  }

  get id(): string {
    return this.api.myEasyrtcid
  }

  connect(app = 'default'): Promise<string> {
    return new Promise((resolve, reject) => this.api.connect(app, resolve, (code, text) => reject(new EasyrtcFailure(code, text))))
  }

  joinRoom(room: string): Promise<string> {
    return new Promise((resolve, reject) => this.api.joinRoom(room, null, resolve, (code, text) => reject(new EasyrtcFailure(code, text))))
  }

  leaveRoom(room: string): Promise<string> {
    return new Promise((resolve, reject) => this.api.leaveRoom(room, resolve, (code, text) => reject(new EasyrtcFailure(code, text))))
  }

  roomList(): Promise<Record<string, { roomName: string; numberClients: number }>> {
    return new Promise((resolve, reject) => this.api.getRoomList(resolve, (code, text) => reject(new EasyrtcFailure(code, text))))
  }

  sendPeerMessage(destination: string | object, msgType: string, msgData: unknown): Promise<{ msgType: string; msgData: unknown }> {
    return new Promise((resolve, reject) => this.api.sendPeerMessage(destination, msgType, msgData,
      (ackType, ackData) => resolve({ msgType: ackType, msgData: ackData }), (code, text) => reject(new EasyrtcFailure(code, text))))
  }

  /** Waits until the client's occupant list of `room` satisfies `check`. */
  async occupantsOf(room: string, check: (occupants: Occupants) => boolean): Promise<Occupants> {
    await until(() => { const list = this.occupants.get(room); return list !== undefined && check(list) })
    return this.occupants.get(room)!
  }

  async nextPeerMessage(match: (message: PeerMessage) => boolean): Promise<PeerMessage> {
    await until(() => this.peerMessages.some(match))
    return this.peerMessages.find(match)!
  }

  close(): void {
    this.api.webSocket?.disconnect()
  }
}

export class EasyrtcFailure extends Error {
  constructor(readonly errorCode: string, readonly errorText: string) {
    super(`${errorCode}: ${errorText}`)
  }
}

/**
 * A raw socket.io client speaking EasyRTC's wire directly: for the signals (Node has no
 * RTCPeerConnection for the real client to answer with) and for malformed frames.
 */
export class RawEasyrtc {
  readonly socket: Socket
  readonly cmds: Record<string, any>[] = []
  readonly msgs: Record<string, any>[] = []
  easyrtcid = ''

  constructor(relayUrl: string) {
    this.socket = io(`${relayUrl}/easyrtc`, { transports: ['websocket'], forceNew: true, reconnection: false })
    this.socket.on('easyrtcCmd', (msg: Record<string, any>) => this.cmds.push(msg))
    this.socket.on('easyrtcMsg', (msg: Record<string, any>) => this.msgs.push(msg))
  }

  async emit(event: string, msg: unknown): Promise<Record<string, any>> {
    return await this.socket.timeout(10_000).emitWithAck(event, msg) as Record<string, any>
  }

  async auth(msgData: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const reply = await this.emit('easyrtcAuth', { msgType: 'authenticate', msgData: { apiVersion: '1.1.1-beta', ...msgData } })
    if (reply.msgType === 'token') this.easyrtcid = reply.msgData.easyrtcid
    return reply
  }

  async nextCmd(match: (msg: Record<string, any>) => boolean): Promise<Record<string, any>> {
    await until(() => this.cmds.some(match))
    return this.cmds.find(match)!
  }

  close(): void {
    this.socket.disconnect()
  }
}
