import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { bucketFor, type TokenBucket } from '../engine/rate-limit'
import { REQUEST_RATE, type RoomIdentity } from '../host/coordinator-host'
import { MAX_FRAME_DEPTH, checkShape } from '../protocol/bounds'
import { ACTION_SIGNALS, ROOM_CODES, type RoomAck, type RoomAction, type RoomServerMessage, type RoomSignalName } from '../protocol/room-codes'
import { MAX_OUTBOUND_BYTES } from './outbound'
import type { Relay } from './server'
import { MAX_TIMER_MS, identifyUpgrade, parseJsonText, refuseUpgrade } from './ws-upgrade'

/** Seed 003's room signals as raw WebSocket JSON: `{action, data}` frames in, `{c, s, b}` acks and pushes (and forwarded signals) out. */
export const ROOMS_WS_PATH = '/ws/rooms'
/** Largest accepted frame: an OFFER carries at most MAX_ROOM_SDP_LENGTH (64 KiB) of SDP, which JSON may escape to a few times that. */
export const MAX_ROOM_FRAME_BYTES = 256 * 1024
/** Sockets that do not answer a ping within this time are dropped (their sessions leave at once, cause 'disconnect'). */
export const ROOMS_PING_INTERVAL_MS = 30_000
/** Frames per socket: the native protocol's request rate; beyond it a 2001 ack and the frame is dropped. */
export const ROOM_FRAME_RATE = REQUEST_RATE
const CONN_PREFIX = 'rooms:'
const rateDetail = `rate limited: at most ${ROOM_FRAME_RATE.perSecond} frames per second, bursts of ${ROOM_FRAME_RATE.burst}`

interface RoomSocket {
  ws: WebSocket
  identity: RoomIdentity
  frames: TokenBucket
  /** Has had a JOIN acknowledged: this endpoint's login. */
  joined: boolean
  expiry: ReturnType<typeof setTimeout> | null
}

/**
 * The `/ws/rooms` edge codec: `{action, data}` text frames go to the coordinator's rooms of
 * the socket's app; its ack comes back as a `room` event, written (as every `room` event)
 * as the bare message. A page user (native `room` op) and a plain WebSocket client of the
 * same app meet in the same rooms.
 *
 * Who the socket is comes from its upgrade URL (ws-upgrade.ts): `?appId=`, `?token=` with a
 * token secret (its user must be the `ss.userId` of every signal), `?userId=` in open mode,
 * else anonymous (any `ss.userId`). A socket with no JOIN acknowledged by the relay's login
 * deadline is closed; one past MAX_OUTBOUND_BYTES of unread frames too.
 */
export function attachRoomsWs(relay: Pick<Relay, 'host' | 'logger' | 'onUpgrade' | 'addConnectionKind' | 'verifier' | 'admission'>): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_ROOM_FRAME_BYTES })
  const sockets = new Map<string, RoomSocket>()
  const alive = new Set<string>()
  let nextConn = 1

  relay.addConnectionKind(CONN_PREFIX, {
    send(conn, frame) {
      // Only room events concern these clients; they never log in, so nothing else is addressed to them.
      if (frame.t !== 'evt' || frame.event.kind !== 'room') return
      const socket = sockets.get(conn)
      if (!socket) return
      const { msg } = frame.event
      if ('c' in msg && msg.c === ROOM_CODES.OK && msg.s === 'JOIN') socket.joined = true
      write(conn, socket, msg)
    },
    close(conn, reason) {
      sockets.get(conn)?.ws.close(1000, reason.slice(0, 120))
    },
  })

  relay.onUpgrade(ROOMS_WS_PATH, (request, socket, head) => {
    const onError = () => socket.destroy() // the client went away while its token was checked
    socket.on('error', onError)
    identifyUpgrade(request, relay.verifier, 'room')
      .then((result) => {
        socket.off('error', onError)
        if (socket.destroyed) return
        if (!result.ok) return refuseUpgrade(socket, result.status, result.reason)
        wss.handleUpgrade(request, socket, head, (ws) => accept(ws, result.identity, result.expiresAt))
      })
      .catch((error: unknown) => {
        relay.logger.error({ err: error }, 'rooms upgrade failed')
        refuseUpgrade(socket, 401, 'the token could not be checked')
      })
  })

  function accept(ws: WebSocket, identity: RoomIdentity, expiresAt: number | null): void {
    const conn = `${CONN_PREFIX}${nextConn++}`
    const socket: RoomSocket = { ws, identity, frames: bucketFor(ROOM_FRAME_RATE), joined: false, expiry: null }
    sockets.set(conn, socket)
    alive.add(conn)
    relay.logger.debug({ conn, appId: identity.appId, userId: identity.userId }, 'rooms socket connected')
    // A JOIN is this endpoint's login: an idle socket must not hold a connection slot.
    relay.admission.expectLogin(conn, () => socket.joined, () => {
      relay.logger.info({ conn }, 'closing rooms socket: no JOIN by the login deadline')
      ws.close(1008, 'no JOIN by the login deadline')
    })
    const validFor = expiresAt === null ? null : expiresAt - Date.now()
    if (validFor !== null && validFor < MAX_TIMER_MS) socket.expiry = setTimeout(() => ws.close(1008, 'the token expired'), Math.max(0, validFor))
    ws.on('pong', () => alive.add(conn))
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const allowed = socket.frames.take(Date.now())
      // Parsed even when over the rate: its ack names the signal and echoes the data, as every error ack does.
      const raw = isBinary ? undefined : parseJsonText(data.toString())
      if (!allowed) return write(conn, socket, invalid(...labelOf(raw), rateDetail))
      if (raw === undefined) return write(conn, socket, invalid('UNKNOWN', null, isBinary ? 'binary frames are not accepted' : 'not valid JSON'))
      try {
        relay.host.receiveRoom(conn, raw, identity)
      } catch (error) {
        relay.logger.error({ err: error, conn }, 'room frame handling failed')
      }
    })
    ws.on('error', (error) => relay.logger.debug({ err: error, conn }, 'rooms socket error'))
    ws.on('close', () => {
      if (socket.expiry) clearTimeout(socket.expiry)
      relay.admission.forget(conn)
      sockets.delete(conn)
      alive.delete(conn)
      relay.host.disconnected(conn)
    })
  }

  /** Sends one message, unless the socket has stopped reading: past MAX_OUTBOUND_BYTES it is closed. */
  function write(conn: string, socket: RoomSocket, msg: RoomServerMessage): void {
    const { ws } = socket
    if (ws.readyState !== WebSocket.OPEN) return
    if (ws.bufferedAmount > MAX_OUTBOUND_BYTES) {
      relay.logger.warn({ conn, bufferedBytes: ws.bufferedAmount, limit: MAX_OUTBOUND_BYTES }, 'closing rooms socket: it stopped reading and its outbound queue is full')
      ws.terminate()
      return
    }
    ws.send(JSON.stringify(msg))
  }

  const pinger = setInterval(() => {
    for (const [conn, { ws }] of sockets) {
      if (!alive.has(conn)) {
        ws.terminate()
        continue
      }
      alive.delete(conn)
      ws.ping()
    }
  }, ROOMS_PING_INTERVAL_MS)
  pinger.unref()

  return {
    close() {
      clearInterval(pinger)
      for (const { ws } of sockets.values()) ws.terminate()
      wss.close()
    },
  }
}

/** Seed 003's error ack for a frame the edge refuses before the engine sees it (2001 INVALID_SIGNAL). */
function invalid(s: RoomSignalName | 'UNKNOWN', req: unknown, msg: string): RoomAck {
  return { c: ROOM_CODES.INVALID_SIGNAL, s, b: { req, msg } }
}

/** The signal a frame names by its action, and its `data` to echo (null when nested too deep to echo safely). */
function labelOf(raw: unknown): [RoomSignalName | 'UNKNOWN', unknown] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !checkShape(raw, MAX_FRAME_DEPTH).ok) return ['UNKNOWN', null]
  const { action, data } = raw as { action?: unknown; data?: unknown }
  const s = typeof action === 'string' && Object.hasOwn(ACTION_SIGNALS, action) ? ACTION_SIGNALS[action as RoomAction] : 'UNKNOWN'
  return [s, data ?? null]
}
