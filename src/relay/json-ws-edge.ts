import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { ConnId } from '../engine/effects'
import { bucketFor, type Rate, type TokenBucket } from '../engine/rate-limit'
import type { ServerFrame } from '../protocol/events'
import { MAX_OUTBOUND_BYTES } from './outbound'
import type { Relay } from './server'
import { MAX_TIMER_MS, identifyUpgrade, parseJsonText, refuseUpgrade, type UpgradeIdentity } from './ws-upgrade'

/**
 * What a raw JSON WebSocket endpoint (/ws/calls, /ws/rooms) says for itself; the edge
 * does the rest alike for each: the upgrade identity check, one JSON message per text
 * frame, a frame rate, ping/pong liveness, a bounded outbound queue, the login deadline,
 * token expiry and the close bookkeeping.
 */
export interface JsonWsEndpoint<Msg> {
  /** The upgrade path, e.g. '/ws/calls'. */
  path: string
  /** Connection ids of these sockets start with this (ids of native sockets never contain ':'). */
  connPrefix: string
  /** Plural, for logs: 'calls' → 'calls socket connected'. */
  name: string
  /** The token operation checked at the upgrade, and the noun of logged frame failures. */
  operation: string
  /** Larger frames close the socket (1009). */
  maxFrameBytes: number
  /** Sockets that do not answer a ping within this time are dropped. */
  pingIntervalMs: number
  /** Frames per socket; beyond it `rateLimited` is written and the frame dropped. */
  frameRate: Rate
  /** The message an engine frame carries for these sockets, or undefined when it is not theirs. */
  outbound(frame: ServerFrame): Msg | undefined
  /** Whether writing this message logs the socket in (this endpoint's login, for the login deadline). */
  logsIn(msg: Msg): boolean
  /** The close reason of a socket not logged in by the login deadline. */
  loginMissing: string
  /** The answer to a frame over the rate; `parsed` reads the frame's JSON (undefined when binary or not JSON). */
  rateLimited(parsed: () => unknown): Msg
  /** The answer to a binary frame or one that is not JSON. */
  malformed(isBinary: boolean): Msg
  /** Hands a parsed frame to the engine. */
  receive(conn: ConnId, raw: unknown, identity: UpgradeIdentity): void
}

/** The parts of the relay an edge uses. */
export type JsonWsRelay = Pick<Relay, 'host' | 'logger' | 'onUpgrade' | 'addConnectionKind' | 'verifier' | 'admission'>

interface EdgeSocket {
  ws: WebSocket
  frames: TokenBucket
  /** Logged in by an outbound message (`logsIn`). */
  loggedIn: boolean
  expiry: ReturnType<typeof setTimeout> | null
}

/**
 * Serves `endpoint` on the relay. A socket's identity comes from its upgrade URL
 * (ws-upgrade.ts); one without a login by the relay's login deadline is closed, one past
 * MAX_OUTBOUND_BYTES of unread frames too, one whose token expires too.
 */
export function attachJsonWsEdge<Msg>(
  relay: JsonWsRelay,
  endpoint: JsonWsEndpoint<Msg>,
): { close(): void } {
  const { name } = endpoint
  const wss = new WebSocketServer({ noServer: true, maxPayload: endpoint.maxFrameBytes })
  const sockets = new Map<string, EdgeSocket>()
  const alive = new Set<string>()
  let nextConn = 1

  relay.addConnectionKind(endpoint.connPrefix, {
    send(conn, frame) {
      // These clients never log in natively, so only the endpoint's own events are addressed to them.
      const msg = endpoint.outbound(frame)
      if (msg === undefined) return
      const socket = sockets.get(conn)
      if (!socket) return
      if (endpoint.logsIn(msg)) socket.loggedIn = true
      write(conn, socket, msg)
    },
    close(conn, reason) {
      sockets.get(conn)?.ws.close(1000, reason.slice(0, 120))
    },
  })

  relay.onUpgrade(endpoint.path, (request, socket, head) => {
    const onError = () => socket.destroy() // the client went away while its token was checked
    socket.on('error', onError)
    identifyUpgrade(request, relay.verifier, endpoint.operation)
      .then((result) => {
        socket.off('error', onError)
        if (socket.destroyed) return
        if (!result.ok) return refuseUpgrade(socket, result.status, result.reason)
        wss.handleUpgrade(request, socket, head, (ws) => accept(ws, result.identity, result.expiresAt))
      })
      .catch((error: unknown) => {
        relay.logger.error({ err: error }, `${name} upgrade failed`)
        refuseUpgrade(socket, 401, 'the token could not be checked')
      })
  })

  function accept(ws: WebSocket, identity: UpgradeIdentity, expiresAt: number | null): void {
    const conn = `${endpoint.connPrefix}${nextConn++}`
    const socket: EdgeSocket = { ws, frames: bucketFor(endpoint.frameRate), loggedIn: false, expiry: null }
    sockets.set(conn, socket)
    alive.add(conn)
    relay.logger.debug({ conn, appId: identity.appId, userId: identity.userId }, `${name} socket connected`)
    // An idle socket must not hold a connection slot.
    relay.admission.expectLogin(conn, () => socket.loggedIn, () => {
      relay.logger.info({ conn }, `closing ${name} socket: ${endpoint.loginMissing}`)
      ws.close(1008, endpoint.loginMissing)
    })
    const validFor = expiresAt === null ? null : expiresAt - Date.now()
    if (validFor !== null && validFor < MAX_TIMER_MS) socket.expiry = setTimeout(() => ws.close(1008, 'the token expired'), Math.max(0, validFor))
    ws.on('pong', () => alive.add(conn))
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const parsed = () => (isBinary ? undefined : parseJsonText(data.toString()))
      if (!socket.frames.take(Date.now())) return write(conn, socket, endpoint.rateLimited(parsed))
      const raw = parsed()
      if (raw === undefined) return write(conn, socket, endpoint.malformed(isBinary))
      try {
        endpoint.receive(conn, raw, identity)
      } catch (error) {
        relay.logger.error({ err: error, conn }, `${endpoint.operation} frame handling failed`)
      }
    })
    ws.on('error', (error) => relay.logger.debug({ err: error, conn }, `${name} socket error`))
    ws.on('close', () => {
      if (socket.expiry) clearTimeout(socket.expiry)
      relay.admission.forget(conn)
      sockets.delete(conn)
      alive.delete(conn)
      relay.host.disconnected(conn)
    })
  }

  /** Sends one message, unless the socket has stopped reading: past MAX_OUTBOUND_BYTES it is closed. */
  function write(conn: string, socket: EdgeSocket, msg: Msg): void {
    const { ws } = socket
    if (ws.readyState !== WebSocket.OPEN) return
    if (ws.bufferedAmount > MAX_OUTBOUND_BYTES) {
      relay.logger.warn({ conn, bufferedBytes: ws.bufferedAmount, limit: MAX_OUTBOUND_BYTES }, `closing ${name} socket: it stopped reading and its outbound queue is full`)
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
  }, endpoint.pingIntervalMs)
  pinger.unref()

  return {
    close() {
      clearInterval(pinger)
      for (const { ws } of sockets.values()) ws.terminate()
      wss.close()
    },
  }
}
