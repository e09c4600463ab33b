import { randomBytes } from 'node:crypto'
import type { Socket } from 'socket.io'
import type { ConnId } from '../../engine/effects'
import { ChannelType, MessageType, PresenceEventType } from '../../protocol/enums'
import type { MessageEvent, PresenceEvent, ServerFrame } from '../../protocol/events'
import { bucketFor } from '../../engine/rate-limit'
import { MAX_FRAME_DEPTH, checkShape } from '../../protocol/bounds'
import { REQUEST_RATE } from '../../host/coordinator-host'
import { dropSlowReader, overOutboundCap } from '../outbound'
import { iceServersFor, parseIceServers } from '../ice-config'
import type { Relay } from '../server'
import { EngineLink } from './engine-link'
import { SIGNAL_TYPES, errorMsg, type EasyrtcErrorCode } from './frames'
import { clientEntry, decodeValue, intervalDelta, removeDelta, updateDelta, type RoomDelta } from './roster'
import { EasyrtcSession, SIGNAL_PREFIX, type Ack, type IceServer } from './session'

/** The socket.io namespace EasyRTC clients reach: `easyrtc.setSocketUrl('http://HOST:PORT/easyrtc')`. */
export const EASYRTC_NAMESPACE = '/easyrtc'
const CONN_PREFIX = 'easyrtc:'
/** Keeps quiet clients' engine sessions alive; liveness itself is socket.io's ping. */
const ENGINE_HEARTBEAT_MS = 60_000
const EASYRTCID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

export interface EasyrtcOptions {
  /**
   * Replaces the relay's static ICE servers (ICE_SERVERS) for EasyRTC clients; default
   * EASYRTC_ICE_SERVERS, else the relay's. TURN credentials (TURN_SECRET) are added either way.
   * Unlike open-easyrtc's server, no public STUN list is built in.
   */
  iceServers?: IceServer[]
}

interface Client { socket: Socket; session: EasyrtcSession; link: EngineLink }

/**
 * The EasyRTC edge codec (seed 004): the unmodified open-easyrtc client talks its own
 * socket.io dialect here, and every room, presence and message goes through the shared
 * coordinator as native requests, so EasyRTC and SDK clients meet in the same rooms.
 */
export function attachEasyrtc(relay: Pick<Relay, 'io' | 'host' | 'logger' | 'http' | 'addConnectionKind' | 'admission' | 'ice'>, options: EasyrtcOptions = {}): void {
  const staticServers = options.iceServers ?? parseIceServers('EASYRTC_ICE_SERVERS', process.env.EASYRTC_ICE_SERVERS)
  const clients = new Map<ConnId, Client>()
  /** One engine event goes to many members: translate it once. */
  const roomDeltas = new WeakMap<PresenceEvent, RoomDelta | null>()

  relay.addConnectionKind(CONN_PREFIX, {
    send(conn, frame: ServerFrame) {
      const client = clients.get(conn)
      if (!client) return
      if (frame.t === 'evt' && overOutboundCap(client.socket)) {
        relay.logger.warn({ conn }, 'closing an easyrtc connection that does not read what it is sent')
        return dropSlowReader(client.socket)
      }
      if (frame.t === 'res') {
        client.link.settle(frame)
        return
      }
      const event = frame.event
      const me = client.session.easyrtcid
      if (event.kind === 'presence') {
        if (client.link.takeSnapshot(event) || event.channelType !== ChannelType.MESSAGE) return
        let delta = roomDeltas.get(event)
        if (delta === undefined) roomDeltas.set(event, (delta = toRoomDelta(event)))
        if (delta) emitCmd(client.socket, me, 'roomData', { msgData: { roomData: { [event.channelName]: delta } } })
      } else if (event.kind === 'message') {
        deliverMessage(client.socket, me, event)
      }
    },
    close(conn, reason) {
      relay.logger.debug({ conn, reason }, 'closing easyrtc connection')
      clients.get(conn)?.socket.disconnect(true)
    },
  })

  relay.io.of(EASYRTC_NAMESPACE).on('connection', (socket) => {
    const conn = `${CONN_PREFIX}${socket.id}`
    const link = new EngineLink(conn, (c, frame) => relay.host.receive(c, frame))
    const session = new EasyrtcSession({
      link, newEasyrtcid, now: Date.now,
      // The same servers SDK users get from /ice-servers; the engine verified this user at login.
      iceServers: (): IceServer[] => iceServersFor(relay.ice, session.easyrtcid, Date.now(), staticServers).iceServers,
      disconnect: () => socket.disconnect(true),
      onError: (error) => relay.logger.error({ err: error, conn }, 'easyrtc frame handling failed'),
    })
    clients.set(conn, { socket, session, link })
    relay.admission.expectLogin(conn, () => session.easyrtcid !== null, () => socket.disconnect(true))
    const rate = bucketFor(REQUEST_RATE)
    /** Frames nested past MAX_FRAME_DEPTH, or over the request rate, are refused before anything reads them. */
    const refusal = (msg: unknown, codes: { deep: EasyrtcErrorCode; rate: EasyrtcErrorCode }): EasyrtcErrorCode | null => {
      if (!checkShape(msg, MAX_FRAME_DEPTH).ok) return codes.deep
      return rate.take(Date.now()) ? null : codes.rate
    }

    socket.on('easyrtcAuth', (msg: unknown, ack: unknown) => {
      // The reference drops a client that cannot be answered.
      if (typeof ack !== 'function') return void socket.disconnect(true)
      const refused = refusal(msg, { deep: 'LOGIN_BAD_STRUCTURE', rate: 'LOGIN_GEN_FAIL' })
      if (refused) return (ack as Ack)(errorMsg(refused))
      session.run(() => session.authenticate(msg, ack as Ack))
    })
    for (const type of ['easyrtcCmd', 'easyrtcMsg'] as const) {
      socket.on(type, (msg: unknown, ack: unknown) => {
        if (typeof ack !== 'function') return // the reference ignores unanswerable commands
        const refused = refusal(msg, { deep: 'MSG_REJECT_BAD_STRUCTURE', rate: 'MSG_REJECT_GEN_FAIL' })
        if (refused) return (ack as Ack)(errorMsg(refused))
        session.run(async () => {
          // The reference does not listen before authentication; answering beats a silent hang.
          if (session.easyrtcid === null) return (ack as Ack)(errorMsg('MSG_REJECT_NO_AUTH'))
          await (type === 'easyrtcCmd' ? session.command(msg, ack as Ack) : session.message(msg, ack as Ack))
        })
      })
    }
    socket.on('disconnect', () => {
      relay.admission.forget(conn)
      session.run(async () => {
        await session.disconnected()
        relay.host.disconnected(conn)
        clients.delete(conn)
      })
    })
  })

  const heartbeat = setInterval(() => {
    for (const { session } of clients.values()) session.heartbeat()
  }, ENGINE_HEARTBEAT_MS)
  heartbeat.unref()
  relay.http.once('close', () => clearInterval(heartbeat))
}

/** A presence change in a room as EasyRTC's clientListDelta (null: nothing to tell). */
function toRoomDelta(event: PresenceEvent): RoomDelta | null {
  const room = event.channelName
  switch (event.eventType) {
    case PresenceEventType.REMOTE_JOIN:
    case PresenceEventType.REMOTE_STATE_CHANGED:
      return updateDelta(room, [clientEntry(event.publisher, event.stateChanged, event.timestamp, true)])
    case PresenceEventType.REMOTE_LEAVE:
    case PresenceEventType.REMOTE_TIMEOUT:
      return removeDelta(room, [event.publisher])
    case PresenceEventType.INTERVAL:
      return event.interval ? intervalDelta(room, event.interval, event.timestamp) : null
    default:
      return null
  }
}

/** A message from the engine as EasyRTC's push: signals on easyrtcCmd, the rest on easyrtcMsg. */
function deliverMessage(socket: Socket, me: string | null, event: MessageEvent): void {
  const msgData = decodeMessage(event)
  const data = msgData === undefined ? {} : { msgData }
  if (event.channelType === ChannelType.USER) {
    const signal = event.customType.startsWith(SIGNAL_PREFIX) ? event.customType.slice(SIGNAL_PREFIX.length) : null
    if (signal !== null && (SIGNAL_TYPES as readonly string[]).includes(signal)) {
      return emitCmd(socket, me, signal, { senderEasyrtcid: event.publisher, ...data })
    }
    return emitMsg(socket, me, event.customType || 'message', { senderEasyrtcid: event.publisher, targetEasyrtcid: me, ...data })
  }
  // The reference does not echo a room message to its sender; the engine does.
  if (event.channelType !== ChannelType.MESSAGE || event.publisher === me) return
  emitMsg(socket, me, event.customType || 'message', { senderEasyrtcid: event.publisher, targetRoom: event.channelName, ...data })
}

/** Our EasyRTC clients send JSON text; an SDK user's plain string or bytes come through as such. */
function decodeMessage(event: MessageEvent): unknown {
  if (event.messageType === MessageType.BINARY || typeof event.message !== 'string') {
    return Buffer.from(event.message as Uint8Array).toString('base64')
  }
  return event.message === '' ? undefined : decodeValue(event.message)
}

/** The reference adds the recipient's easyrtcid, msgType and serverTime to every push. */
function emitCmd(socket: Socket, me: string | null, msgType: string, body: Record<string, unknown>): void {
  socket.emit('easyrtcCmd', { ...body, easyrtcid: me, msgType, serverTime: Date.now() })
}

function emitMsg(socket: Socket, me: string | null, msgType: string, body: Record<string, unknown>): void {
  socket.emit('easyrtcMsg', { ...body, easyrtcid: me, msgType, serverTime: Date.now() })
}

function newEasyrtcid(): string {
  return Array.from(randomBytes(16), (byte) => EASYRTCID_ALPHABET[byte % EASYRTCID_ALPHABET.length]).join('')
}
