import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { callError } from '../protocol/calls'
import type { Relay } from './server'

/** Seed 002's call protocol as raw WebSocket JSON, one message per frame. */
export const CALLS_WS_PATH = '/ws/calls'
/** Largest accepted frame: an SDP offer with many codecs stays far below this. */
export const MAX_CALL_FRAME_BYTES = 256 * 1024
/** Sockets that do not answer a ping within this time are dropped (their calls end with `leave`). */
export const CALLS_PING_INTERVAL_MS = 30_000
const CONN_PREFIX = 'ws:'

/**
 * The `/ws/calls` edge codec: frames in go to the shared coordinator's call module, `call`
 * events out are written as their bare message. A page user (native `call` op) and a plain
 * WebSocket client share one sId namespace and can call each other.
 */
export function attachCallsWs(relay: Pick<Relay, 'host' | 'logger' | 'onUpgrade' | 'addConnectionKind'>): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CALL_FRAME_BYTES })
  const sockets = new Map<string, WebSocket>()
  const alive = new Set<string>()
  let nextConn = 1

  relay.addConnectionKind(CONN_PREFIX, {
    send(conn, frame) {
      // Only call events concern these clients; they never log in, so nothing else is addressed to them.
      if (frame.t === 'evt' && frame.event.kind === 'call') sockets.get(conn)?.send(JSON.stringify(frame.event.msg))
    },
    close(conn, reason) {
      sockets.get(conn)?.close(1000, reason.slice(0, 120))
    },
  })

  relay.onUpgrade(CALLS_WS_PATH, (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws))
  })

  function accept(ws: WebSocket): void {
    const conn = `${CONN_PREFIX}${nextConn++}`
    sockets.set(conn, ws)
    alive.add(conn)
    relay.logger.debug({ conn }, 'calls socket connected')
    ws.on('pong', () => alive.add(conn))
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const raw = isBinary ? undefined : parseJson(data.toString())
      if (raw === undefined) {
        ws.send(JSON.stringify(callError('MALFORMED_FRAME', isBinary ? 'binary frames are not accepted' : 'not valid JSON')))
        return
      }
      try {
        relay.host.receiveCall(conn, raw)
      } catch (error) {
        relay.logger.error({ err: error, conn }, 'call frame handling failed')
      }
    })
    ws.on('error', (error) => relay.logger.debug({ err: error, conn }, 'calls socket error'))
    ws.on('close', () => {
      sockets.delete(conn)
      alive.delete(conn)
      relay.host.disconnected(conn)
    })
  }

  const pinger = setInterval(() => {
    for (const [conn, ws] of sockets) {
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
      for (const ws of sockets.values()) ws.terminate()
      wss.close()
    },
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined // reported to the sender as MALFORMED_FRAME
  }
}
