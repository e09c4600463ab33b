import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { decodeJwt } from 'jose'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { CallIdentity } from '../engine/calls'
import { bucketFor, type TokenBucket } from '../engine/rate-limit'
import { REQUEST_RATE } from '../host/coordinator-host'
import { isValidName } from '../engine/validate'
import { callError, type CallServerMessage } from '../protocol/calls'
import { MAX_OUTBOUND_BYTES } from './outbound'
import type { Relay } from './server'

/** Seed 002's call protocol as raw WebSocket JSON, one message per frame. */
export const CALLS_WS_PATH = '/ws/calls'
/** Largest accepted frame: an SDP offer with many codecs stays far below this. */
export const MAX_CALL_FRAME_BYTES = 256 * 1024
/** Sockets that do not answer a ping within this time are dropped (a ringing call ends with `leave`, an ACTIVE one after the grace period). */
export const CALLS_PING_INTERVAL_MS = 30_000
/** The app of a socket whose URL names none: the page's default app (DEFAULT_APP_ID in src/ui/state/app.svelte.ts). */
export const DEFAULT_CALLS_APP_ID = 'demo'
/** Frames per socket: the native protocol's request rate; beyond it RATE_LIMITED. */
export const CALL_FRAME_RATE = REQUEST_RATE
/** Node fires longer timeouts at once; a token valid beyond this (24 days) is not timed. */
const MAX_TIMER_MS = 2 ** 31 - 1
const CONN_PREFIX = 'ws:'
const rateDetail = `at most ${CALL_FRAME_RATE.perSecond} frames per second, bursts of ${CALL_FRAME_RATE.burst}`

interface CallSocket {
  ws: WebSocket
  identity: CallIdentity
  frames: TokenBucket
  registered: boolean
  expiry: ReturnType<typeof setTimeout> | null
}

type Identified = { ok: true; identity: CallIdentity; expiresAt: number | null } | { ok: false; status: 400 | 401; reason: string }

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
    identify(request)
      .then((result) => {
        socket.off('error', onError)
        if (socket.destroyed) return
        if (!result.ok) return refuse(socket, result.status, result.reason)
        wss.handleUpgrade(request, socket, head, (ws) => accept(ws, result.identity, result.expiresAt))
      })
      .catch((error: unknown) => {
        relay.logger.error({ err: error }, 'calls upgrade failed')
        refuse(socket, 401, 'the token could not be checked')
      })
  })

  async function identify(request: IncomingMessage): Promise<Identified> {
    const query = new URL(request.url ?? '/', 'http://relay').searchParams
    const appId = query.get('appId') ?? DEFAULT_CALLS_APP_ID
    if (!isValidName(appId)) return { ok: false, status: 400, reason: 'appId must be 1–64 printable ASCII characters' }
    const named = query.get('userId') ?? undefined
    if (named !== undefined && !isValidName(named)) return { ok: false, status: 400, reason: 'userId must be 1–64 printable ASCII characters' }
    const token = query.get('token') || undefined
    const userId = named ?? subjectOf(token)
    // With a secret this needs a valid token for that user and app; open mode accepts anything.
    const check = await relay.verifier.verify(token, appId, userId ?? '', 'call')
    if (!check.ok) return { ok: false, status: 401, reason: check.error.reason }
    return { ok: true, identity: { appId, userId: userId ?? null }, expiresAt: check.expiresAt }
  }

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
      const raw = isBinary ? undefined : parseJson(data.toString())
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

/** The user a token names (`sub`, else `uid`), read without checking: the verifier checks it. */
function subjectOf(token: string | undefined): string | undefined {
  if (!token) return undefined
  try {
    const claims = decodeJwt(token)
    const subject = claims.sub ?? claims.uid
    return typeof subject === 'string' && isValidName(subject) ? subject : undefined
  } catch {
    return undefined // not a JWT: with a secret the verifier refuses it, in open mode the socket is anonymous
  }
}

/** Answers a refused upgrade with a plain HTTP status and closes the socket. */
function refuse(socket: Duplex, status: 400 | 401, reason: string): void {
  const text = status === 401 ? 'Unauthorized' : 'Bad Request'
  const body = `${reason}\n`
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined // reported to the sender as MALFORMED_FRAME
  }
}
