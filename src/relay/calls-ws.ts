import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { CallIdentity } from '../engine/calls'
import { bucketFor, type TokenBucket } from '../engine/rate-limit'
import { REQUEST_RATE } from '../host/coordinator-host'
import { callError, type CallServerMessage } from '../protocol/calls'
import { MAX_OUTBOUND_BYTES } from './outbound'
import type { Relay } from './server'
import { DEFAULT_WS_APP_ID, MAX_TIMER_MS, identifyUpgrade, parseJsonText, refuseUpgrade } from './ws-upgrade'

/** Seed 002's call protocol as raw WebSocket JSON, one message per frame. */
export const CALLS_WS_PATH = '/ws/calls'
/** Largest accepted frame: an SDP offer with many codecs stays far below this. */
export const MAX_CALL_FRAME_BYTES = 256 * 1024
/** Sockets that do not answer a ping within this time are dropped (a ringing call ends with `leave`, an ACTIVE one after the grace period). */
export const CALLS_PING_INTERVAL_MS = 30_000
/** The app of a socket whose URL names none: the page's default app (DEFAULT_APP_ID in src/ui/state/app.svelte.ts). */
export const DEFAULT_CALLS_APP_ID = DEFAULT_WS_APP_ID
/** Frames per socket: the native protocol's request rate; beyond it RATE_LIMITED. */
export const CALL_FRAME_RATE = REQUEST_RATE
const CONN_PREFIX = 'ws:'
const rateDetail = `at most ${CALL_FRAME_RATE.perSecond} frames per second, bursts of ${CALL_FRAME_RATE.burst}`

interface CallSocket {
  ws: WebSocket
  identity: CallIdentity
  frames: TokenBucket
  registered: boolean
  expiry: ReturnType<typeof setTimeout> | null
}

/**
 * The `/ws/calls` edge codec: frames in go to the coordinator's call registry of the
 * socket's app, `call` events out are written as their bare message. A page user (native
 * `call` op) and a plain WebSocket client of the same app share one sId namespace.
 *
 * Who the socket is comes from its upgrade URL: `?appId=` (default DEFAULT_CALLS_APP_ID),
 * and `?token=` — required and verified when the relay has a token secret (401 otherwise) —
 * or, in open mode, `?userId=`. A socket with a user has that userId as its sId. A socket
 * without an sId by the relay's login deadline is closed; one past MAX_OUTBOUND_BYTES of
 * unread frames too.
 */
export function attachCallsWs(relay: Pick<Relay, 'host' | 'logger' | 'onUpgrade' | 'addConnectionKind' | 'verifier' | 'admission'>): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CALL_FRAME_BYTES })
  const sockets = new Map<string, CallSocket>()
  const alive = new Set<string>()
  let nextConn = 1

  relay.addConnectionKind(CONN_PREFIX, {
    send(conn, frame) {
      // Only call events concern these clients; they never log in, so nothing else is addressed to them.
      if (frame.t !== 'evt' || frame.event.kind !== 'call') return
      const socket = sockets.get(conn)
      if (!socket) return
      if (frame.event.msg.cmd === 'sId') socket.registered = true
      write(conn, socket, frame.event.msg)
    },
    close(conn, reason) {
      sockets.get(conn)?.ws.close(1000, reason.slice(0, 120))
    },
  })

  relay.onUpgrade(CALLS_WS_PATH, (request, socket, head) => {
    const onError = () => socket.destroy() // the client went away while its token was checked
    socket.on('error', onError)
    identifyUpgrade(request, relay.verifier, 'call')
      .then((result) => {
        socket.off('error', onError)
        if (socket.destroyed) return
        if (!result.ok) return refuseUpgrade(socket, result.status, result.reason)
        wss.handleUpgrade(request, socket, head, (ws) => accept(ws, result.identity, result.expiresAt))
      })
      .catch((error: unknown) => {
        relay.logger.error({ err: error }, 'calls upgrade failed')
        refuseUpgrade(socket, 401, 'the token could not be checked')
      })
  })

  function accept(ws: WebSocket, identity: CallIdentity, expiresAt: number | null): void {
    const conn = `${CONN_PREFIX}${nextConn++}`
    const socket: CallSocket = { ws, identity, frames: bucketFor(CALL_FRAME_RATE), registered: false, expiry: null }
    sockets.set(conn, socket)
    alive.add(conn)
    relay.logger.debug({ conn, appId: identity.appId, userId: identity.userId }, 'calls socket connected')
    // Registering an sId is this endpoint's login: an idle socket must not hold a connection slot.
    relay.admission.expectLogin(conn, () => socket.registered, () => {
      relay.logger.info({ conn }, 'closing calls socket: no sId by the login deadline')
      ws.close(1008, 'no sId by the login deadline')
    })
    const validFor = expiresAt === null ? null : expiresAt - Date.now()
    if (validFor !== null && validFor < MAX_TIMER_MS) socket.expiry = setTimeout(() => ws.close(1008, 'the token expired'), Math.max(0, validFor))
    ws.on('pong', () => alive.add(conn))
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!socket.frames.take(Date.now())) return write(conn, socket, callError('RATE_LIMITED', rateDetail))
      const raw = isBinary ? undefined : parseJsonText(data.toString())
      if (raw === undefined) return write(conn, socket, callError('MALFORMED_FRAME', isBinary ? 'binary frames are not accepted' : 'not valid JSON'))
      try {
        relay.host.receiveCall(conn, raw, identity)
      } catch (error) {
        relay.logger.error({ err: error, conn }, 'call frame handling failed')
      }
    })
    ws.on('error', (error) => relay.logger.debug({ err: error, conn }, 'calls socket error'))
    ws.on('close', () => {
      if (socket.expiry) clearTimeout(socket.expiry)
      relay.admission.forget(conn)
      sockets.delete(conn)
      alive.delete(conn)
      relay.host.disconnected(conn)
    })
  }

  /** Sends one message, unless the socket has stopped reading: past MAX_OUTBOUND_BYTES it is closed. */
  function write(conn: string, socket: CallSocket, msg: CallServerMessage): void {
    const { ws } = socket
    if (ws.readyState !== WebSocket.OPEN) return
    if (ws.bufferedAmount > MAX_OUTBOUND_BYTES) {
      relay.logger.warn({ conn, bufferedBytes: ws.bufferedAmount, limit: MAX_OUTBOUND_BYTES }, 'closing calls socket: it stopped reading and its outbound queue is full')
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
  }, CALLS_PING_INTERVAL_MS)
  pinger.unref()

  return {
    close() {
      clearInterval(pinger)
      for (const { ws } of sockets.values()) ws.terminate()
      wss.close()
    },
  }
}
