import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http'
import type { Duplex } from 'node:stream'
import { existsSync } from 'node:fs'
import pino, { type Logger } from 'pino'
import sirv from 'sirv'
import { Server as SocketServer } from 'socket.io'
import { Coordinator } from '../engine/coordinator'
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../engine/app-engine'
import { CoordinatorHost } from '../host/coordinator-host'
import { ReplayingCoordinator } from '../host/replaying-coordinator'
import { MemoryStore, type DurableStore } from '../host/ports'
import type { ConnId } from '../engine/effects'
import type { ServerFrame } from '../protocol/events'
import { attachCallsWs } from './calls-ws'
import { attachPeerBroker } from './peer-broker'
import { attachEasyrtc } from './easyrtc/codec'
import { jwtVerifier, openMode } from './tokens'

export const VERSION = '0.1.0'
/** How often the relay feeds the clock to the engine (presence timeouts, INTERVAL, TTLs). */
export const TICK_MS = 200

export interface RelayOptions {
  port?: number
  host?: string
  /** HS256 secret; without it the relay runs in open demo mode. */
  tokenSecret?: string
  /** Folder with the built page; served at `/` when it exists. */
  staticDir?: string
  store?: DurableStore
  engine?: Partial<EngineConfig>
  logger?: Logger
  /**
   * Runs after the relay closed itself because the store failed a commit (disk full, I/O
   * error): from that failure on it refused every request, since its memory was ahead of
   * the disk. `npm start` then exits with status 1, so a supervisor restarts it from what
   * is on disk and clients reconnect there.
   */
  onStoreFailure?: (error: unknown) => void
}

/**
 * Connections that are not native socket.io clients (a raw /ws/calls socket, an EasyRTC
 * client): the edge codec that owns ids starting with `prefix` turns engine frames into
 * its own wire format.
 */
export interface ConnectionKind {
  send(conn: ConnId, frame: ServerFrame): void
  close(conn: ConnId, reason: string): void
}

/** A handler for raw WebSocket upgrades on one path (e.g. /ws/calls, /peerjs). */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void

export interface Relay {
  url: string
  port: number
  http: HttpServer
  io: SocketServer
  host: CoordinatorHost
  coordinator: Coordinator
  logger: Logger
  /** Delivers frames for connection ids starting with `prefix` (ids of native sockets never contain ':'). */
  addConnectionKind(prefix: string, kind: ConnectionKind): void
  /** Routes WebSocket upgrades whose path starts with `prefix` to `handler`. */
  onUpgrade(prefix: string, handler: UpgradeHandler): void
  close(): Promise<void>
}

export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const logger = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' })
  const startedAt = Date.now()
  // Remembers the reply of every write with the write: a request resent after a restart is answered, not applied again.
  const coordinator = new ReplayingCoordinator({ ...DEFAULT_ENGINE_CONFIG, ...options.engine })
  const store = options.store ?? new MemoryStore()
  const serveStatic = options.staticDir && existsSync(options.staticDir)
    ? sirv(options.staticDir, { single: true, etag: true, gzip: true })
    : null

  const http = createServer((request, response) => {
    if (request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      response.end(JSON.stringify({
        status: 'ok', version: VERSION, uptime: (Date.now() - startedAt) / 1000,
        sessions: coordinator.connectedSessions, connections: io.engine.clientsCount,
        memory: process.memoryUsage(),
      }))
      return
    }
    if (serveStatic) return serveStatic(request, response, () => notFound(response))
    notFound(response)
  })

  // socket.io must not destroy upgrades meant for our other WebSocket endpoints (FACTS.md).
  const io = new SocketServer(http, { destroyUpgrade: false, maxHttpBufferSize: 1e6, serveClient: false, cors: { origin: true } })
  const upgradeRoutes: [string, UpgradeHandler][] = []
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0]
    if (path.startsWith('/socket.io/')) return // engine.io's own listener takes it
    const route = upgradeRoutes.find(([prefix]) => path.startsWith(prefix))
    if (route) route[1](request, socket, head)
    else socket.destroy()
  })

  const kinds: [string, ConnectionKind][] = []
  const kindOf = (conn: ConnId) => (conn.includes(':') ? kinds.find(([prefix]) => conn.startsWith(prefix))?.[1] : undefined)
  const host = new CoordinatorHost({
    coordinator,
    store,
    verifier: options.tokenSecret ? jwtVerifier(options.tokenSecret) : openMode,
    now: Date.now,
    newResumeKey: () => randomBytes(18).toString('base64url'),
    onStoreFailure(error) {
      logger.fatal({ err: error }, 'a store commit failed; the relay stops rather than serve state it could not keep')
      void relay.close().then(() => options.onStoreFailure?.(error))
    },
    sink: {
      send(to, frame) {
        let native = to
        if (kinds.length > 0) {
          native = []
          for (const conn of to) {
            const kind = kindOf(conn)
            if (kind) kind.send(conn, frame)
            else native.push(conn)
          }
        }
        // One recipient: its socket directly, skipping the room lookup and broadcast machinery.
        if (native.length === 1) io.sockets.sockets.get(native[0])?.emit('f', frame)
        else if (native.length > 1) io.to(native).emit('f', frame) // encoded once, written to every socket
      },
      close(conn, reason) {
        const kind = kindOf(conn)
        if (kind) return kind.close(conn, reason)
        const socket = io.sockets.sockets.get(conn)
        if (!socket) return
        logger.info({ conn, reason }, 'closing connection')
        socket.disconnect(true)
      },
    },
  })
  await host.start()

  io.on('connection', (socket) => {
    logger.debug({ conn: socket.id, transport: socket.conn.transport.name }, 'connected')
    socket.on('f', (frame: unknown) => {
      try {
        host.receive(socket.id, frame)
      } catch (error) {
        // A bug must not take the relay down for everyone; the frame is logged and dropped.
        logger.error({ err: error, conn: socket.id }, 'frame handling failed')
      }
    })
    socket.on('disconnect', (reason) => {
      logger.debug({ conn: socket.id, reason }, 'disconnected')
      host.disconnected(socket.id)
    })
  })

  const ticker = setInterval(() => host.tick(), TICK_MS)
  ticker.unref()

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = http.address()
  const port = typeof address === 'object' && address ? address.port : options.port ?? 8080
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`
  logger.info({ url, mode: options.tokenSecret ? 'token' : 'open' }, 'relay listening')

  const relay: Relay = {
    url, port, http, io, host, coordinator, logger,
    addConnectionKind(prefix, kind) {
      kinds.push([prefix, kind])
    },
    onUpgrade(prefix, handler) {
      upgradeRoutes.push([prefix, handler])
    },
    async close() {
      clearInterval(ticker)
      callsWs.close()
      peerBroker.close()
      io.disconnectSockets(true)
      await new Promise<void>((resolve) => io.close(() => resolve()))
      await host.settled()
      await store.close()
    },
  }
  const callsWs = attachCallsWs(relay) // seed 002 at /ws/calls
  const peerBroker = attachPeerBroker(relay) // PeerJS broker at /peerjs (mesh mode)
  attachEasyrtc(relay) // seed 004 on socket.io namespace /easyrtc
  return relay
}

function notFound(response: import('node:http').ServerResponse): void {
  response.writeHead(404, { 'content-type': 'text/plain' })
  response.end('not found')
}
