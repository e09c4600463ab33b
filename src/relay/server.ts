import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import pino, { type Logger } from 'pino'
import proxyAddr from 'proxy-addr'
import { Server as SocketServer } from 'socket.io'
import { Coordinator } from '../engine/coordinator'
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../engine/app-engine'
import { CoordinatorHost, type FrameRouter } from '../host/coordinator-host'
import { ReplayingCoordinator } from '../host/replaying-coordinator'
import { MemoryStore, type ConnectionSink, type DurableStore, type TokenVerifier } from '../host/ports'
import type { ConnId } from '../engine/effects'
import type { ServerFrame } from '../protocol/events'
import type { Rate } from '../engine/rate-limit'
import { Admission, LOGIN_DEADLINE_MS, MAX_CONNECTIONS_PER_ADDRESS } from './admission'
import { attachCallsWs } from './calls-ws'
import { attachRoomsWs } from './rooms-ws'
import { MAX_OUTBOUND_BYTES, dropSlowReader, outboundBytes, overOutboundCap } from './outbound'
import { attachPeerBroker } from './peer-broker'
import { attachEasyrtc } from './easyrtc/codec'
import { jwtVerifier, openMode } from './tokens'
import { applySecurityHeaders, originPolicy } from './http-policy'
import { NO_ICE, iceUrlsOf, type IceConfig } from './ice-config'
import { ICE_SERVERS_PATH, serveIceServers } from './ice-endpoint'
import { staticFiles } from './static-files'
import { ClusterRouter, type ClusterOptions } from './cluster/cluster-router'
import { SfuPool, type SfuPoolOptions } from './sfu/sfu-pool'

export const VERSION = '0.1.0'
/** How often the relay feeds the clock to the engine (presence timeouts, INTERVAL, TTLs). */
export const TICK_MS = 200

/** A certificate chain and its private key, PEM. */
export interface TlsPair { cert: string | Buffer; key: string | Buffer }

export interface RelayOptions {
  port?: number
  host?: string
  /** Serve HTTPS (and wss) with this certificate; `relay.setTls` swaps it without a restart. */
  tls?: TlsPair
  /**
   * A path prefix (`/signal`) the relay is mounted under, e.g. behind a reverse proxy that
   * does not strip it: the page, socket.io, /ws/*, /peerjs, /healthz and /readyz all live
   * under it. Default '' (the root).
   */
  basePath?: string
  /**
   * Proxies (proxy-addr trust list: addresses, CIDRs, `loopback`, `uniquelocal`…) whose
   * X-Forwarded-For names the client. Only their word is taken: the per-address limits
   * count the client, not the proxy, and nobody else can pick the address they are counted under.
   */
  trustProxy?: string[]
  /** HS256 secret; without it the relay runs in open demo mode. */
  tokenSecret?: string
  /** Folder with the built page; served at `/` when it exists. */
  staticDir?: string
  /**
   * Browser origins (`scheme://host[:port]`, or `*`) allowed to open socket.io and
   * WebSocket connections besides the page's own; default localhost, 127.0.0.1 and [::1]
   * on any port. Requests without an Origin header (not browsers) are always allowed.
   */
  allowedOrigins?: string[]
  store?: DurableStore
  engine?: Partial<EngineConfig>
  /** Requests per connection (default REQUEST_RATE: 100/s, bursts of 200). */
  requestRate?: Rate
  /** Open connections per client address (default MAX_CONNECTIONS_PER_ADDRESS; 0 = no limit). */
  maxConnectionsPerAddress?: number
  /** Connections not logged in by then are closed (default LOGIN_DEADLINE_MS). */
  loginDeadlineMs?: number
  logger?: Logger
  /**
   * Runs after the relay closed itself because the store failed a commit (disk full, I/O
   * error): from that failure on it refused every request, since its memory was ahead of
   * the disk. `npm start` then exits with status 1, so a supervisor restarts it from what
   * is on disk and clients reconnect there.
   */
  onStoreFailure?: (error: unknown) => void
  /**
   * ICE servers for WebRTC users (ICE_SERVERS, TURN_SECRET/TURN_URLS/TURN_TTL), served at
   * `<basePath>/ice-servers` and in EasyRTC's iceConfig; default none (host candidates only).
   */
  ice?: IceConfig
  /** Scaled mode: state partitioned per app over Redis leases, any number of these processes behind a balancer (README "Scaled mode"). */
  cluster?: Omit<ClusterOptions, 'processId'> & { processId?: string }
  /**
   * The SFU room engine (`eg: 'sfu'`, README "Rooms: the SFU"): worker processes started with
   * the first SFU room. Absent: every room is a browser mesh. Not in scaled mode (yet).
   */
  sfu?: Omit<SfuPoolOptions, 'onSignal' | 'log'>
}

/**
 * Connections that are not native socket.io clients (a raw /ws/calls or /ws/rooms socket, an EasyRTC
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
  /** `http(s)://host:port` and the base path, without a trailing slash. */
  url: string
  port: number
  http: HttpServer | TlsServer
  io: SocketServer
  /** Where the edges hand their frames: the coordinator host, or in scaled mode the cluster router. */
  host: FrameRouter
  /** The single-process coordinator; in scaled mode only the lobby (frames before a login), apps live in their partitions. */
  coordinator: Coordinator
  /** Scaled mode (REDIS_URL): this process's router; null for one process. */
  cluster: ClusterRouter | null
  /** The SFU's worker pool, when SFU rooms are enabled in one process. */
  sfu: SfuPool | null
  logger: Logger
  /** The login token check (JWT with a secret, open mode without), for endpoints that authenticate at the upgrade (/ws/calls, /ws/rooms). */
  verifier: TokenVerifier
  /** The ICE configuration users get (ice-config.ts `iceServersFor`). */
  ice: IceConfig
  /** Per-address connection counts and the login deadline, for every kind of connection. */
  admission: Admission
  /** The client's address: the TCP peer, or what a trusted proxy says it forwarded for. */
  addressOf(request: IncomingMessage): string
  /** Replaces the TLS certificate for new connections (a renewed certificate, on SIGHUP). */
  setTls(tls: TlsPair): void
  /** True from the start of close(): /readyz answers 503 so a balancer stops sending new clients. */
  readonly draining: boolean
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
  // Precompressed (br, gzip) by Accept-Encoding; hashed assets cached for good, the page revalidated.
  const serveStatic = options.staticDir ? staticFiles(options.staticDir) : null

  const basePath = normalizeBasePath(options.basePath)
  const ice = options.ice ?? NO_ICE
  let draining = false
  const handleRequest: RequestListener = (request, response) => {
    applySecurityHeaders(response) // every response: the page, its assets, 404s, /healthz
    const url = request.url ?? '/'
    // The page's asset URLs are relative: /signal must become /signal/ for them to resolve.
    if (basePath && url.split('?')[0] === basePath) return redirect(response, `${basePath}/`)
    const path = withoutBasePath(basePath, url)
    if (path === null) return notFound(response)
    request.url = path
    const route = path.split('?')[0]
    if (route === '/healthz') { // liveness: the process answers
      return json(response, 200, {
        status: 'ok', version: VERSION, uptime: (Date.now() - startedAt) / 1000,
        sessions: router.connectedSessions, connections: io.engine.clientsCount,
        ...(cluster && { process: cluster.processId, partitions: cluster.ownedPartitions }),
        ...(sfu && { sfu: sfu.figures() }),
        memory: process.memoryUsage(),
      })
    }
    if (route === '/readyz') { // readiness: send new clients here (not while draining)
      return json(response, draining ? 503 : 200, { status: draining ? 'draining' : 'ready' })
    }
    if (route === ICE_SERVERS_PATH) { // the ICE servers (and TURN credentials) of a logged-in user
      return void serveIceServers(request, response, { ice, verifier, originAllowed, now: Date.now }).catch((error: unknown) => {
        logger.error({ err: error }, 'serving /ice-servers failed')
        if (!response.headersSent) json(response, 500, { error: 'internal error' })
      })
    }
    if (serveStatic) return serveStatic(request, response, () => notFound(response))
    notFound(response)
  }
  const http = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, handleRequest) : createServer(handleRequest)

  // socket.io must not destroy upgrades meant for our other WebSocket endpoints (FACTS.md).
  // A page of another site must not act for the user whose browser it runs in (http-policy.ts).
  const originAllowed = originPolicy(options.allowedOrigins)
  const admission = new Admission({
    maxPerAddress: options.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS,
    loginDeadlineMs: options.loginDeadlineMs ?? LOGIN_DEADLINE_MS,
    now: Date.now,
  })
  const trusted = proxyAddr.compile(options.trustProxy ?? [])
  const addressOf = (request: IncomingMessage) => (request.socket.remoteAddress ? proxyAddr(request, trusted) : '')
  const io = new SocketServer(http, {
    path: `${basePath}/socket.io`,
    destroyUpgrade: false, maxHttpBufferSize: 1e6, serveClient: false,
    // A client that never joins a namespace is dropped at the login deadline too.
    connectTimeout: options.loginDeadlineMs ?? LOGIN_DEADLINE_MS,
    // Checked at the handshake of every transport (polling and websocket, every namespace); refused with 403.
    allowRequest: (request, callback) => {
      if (!originAllowed(request.headers.origin, request.headers.host)) return callback('origin not allowed', false)
      if (!admission.hasRoom(addressOf(request))) return callback('too many connections from this address', false)
      callback(null, true)
    },
    cors: (request, callback) => callback(null, { origin: originAllowed(request.headers.origin, request.headers.host) }),
  })
  // Scaled mode: a session id names its process, so a balancer can send a long-polling
  // client's every request to the process that holds its session (deploy/haproxy `use-server`).
  const clusterOptions = options.cluster && { ...options.cluster, processId: options.cluster.processId || `relay-${randomBytes(3).toString('hex')}` }
  if (clusterOptions) io.engine.generateId = () => `${clusterOptions.processId}.${randomBytes(15).toString('base64url')}`
  io.engine.on('connection', (connection: { request: IncomingMessage; once(event: 'close', listener: () => void): void }) => {
    connection.once('close', admission.opened(addressOf(connection.request)))
  })
  const upgradeRoutes: [string, UpgradeHandler][] = []
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = withoutBasePath(basePath, request.url ?? '/')
    if (url === null) return void socket.destroy()
    const path = url.split('?')[0]
    if (path.startsWith('/socket.io/')) return // engine.io's own listener takes it (allowRequest checks the origin)
    request.url = url // the endpoints read their query from it
    if (!originAllowed(request.headers.origin, request.headers.host)) {
      logger.info({ origin: request.headers.origin, path }, 'upgrade refused: origin not allowed')
      socket.once('finish', () => socket.destroy()) // after the refusal is written (as ws does)
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const route = upgradeRoutes.find(([prefix]) => path.startsWith(prefix))
    if (!route) return void socket.destroy()
    const address = addressOf(request)
    if (!admission.hasRoom(address)) {
      logger.info({ address, path }, 'upgrade refused: too many connections from this address')
      socket.once('finish', () => socket.destroy())
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    socket.once('close', admission.opened(address))
    route[1](request, socket, head)
  })

  const kinds: [string, ConnectionKind][] = []
  const kindOf = (conn: ConnId) => (conn.includes(':') ? kinds.find(([prefix]) => conn.startsWith(prefix))?.[1] : undefined)
  const verifier = options.tokenSecret ? jwtVerifier(options.tokenSecret) : openMode
  const roomIceUrls = iceUrlsOf(ice)
  /** Where this process's sockets get their frames: the edge codecs' kinds, else socket.io. */
  const localSink: ConnectionSink = {
    send(to, frame) {
      const native: ConnId[] = []
      for (const conn of to) {
        const kind = kinds.length > 0 ? kindOf(conn) : undefined
        if (kind) {
          try {
            kind.send(conn, frame)
          } catch (error) {
            // One codec's failure for one recipient must not cost the others their frame.
            logger.error({ err: error, conn }, 'delivery failed')
          }
          continue
        }
        const socket = io.sockets.sockets.get(conn)
        if (!socket) continue
        if (overOutboundCap(socket)) shed(socket)
        else native.push(conn)
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
  }
  /** A coordinator host: the whole state in one process, or one partition's in scaled mode. */
  const hostOver = (coordinator: Coordinator, store: DurableStore, sink: ConnectionSink, onStoreFailure: (error: unknown) => void, sfu?: SfuPool) => new CoordinatorHost({
    coordinator,
    store,
    verifier,
    iceUrls: () => roomIceUrls,
    now: Date.now,
    newResumeKey: () => randomBytes(18).toString('base64url'),
    onStoreFailure,
    requestRate: options.requestRate,
    onError(error, conn) {
      logger.error({ err: error, conn }, 'handling failed; the input or delivery was dropped')
    },
    sink,
    sfu,
  })
  const engineConfig = { ...DEFAULT_ENGINE_CONFIG, ...options.engine }
  // One process: the coordinator holds every app. Scaled mode: it is the lobby (frames
  // before a login), and each app's partition runs in whichever process owns its lease.
  const sfu = options.sfu && !clusterOptions
    ? new SfuPool({
      ...options.sfu,
      onSignal: (appId, rid, to, signal) => host.receiveSfu(appId, rid, to, signal),
      log: (message) => logger.warn(message),
    })
    : undefined
  const host = hostOver(coordinator, store, localSink, (error) => {
    logger.fatal({ err: error }, 'a store commit failed; the relay stops rather than serve state it could not keep')
    void relay.close().finally(() => options.onStoreFailure?.(error))
  }, sfu)
  await host.start()
  const cluster = clusterOptions
    ? await ClusterRouter.start(clusterOptions, {
      // Remembers the reply of every write with the write, per partition (see ReplayingCoordinator).
      hostFor: (_partition, partitionStore, sink, onStoreFailure) => hostOver(new ReplayingCoordinator(engineConfig), partitionStore, sink, onStoreFailure),
      localSink,
      lobby: host,
      logger,
    })
    : null
  const router: FrameRouter = cluster ?? host

  /** A client that stopped reading is closed rather than buffered for without bound. */
  const shed = (socket: import('socket.io').Socket) => {
    logger.warn({ conn: socket.id, queuedBytes: outboundBytes(socket), limit: MAX_OUTBOUND_BYTES }, 'closing a connection that does not read what it is sent')
    dropSlowReader(socket)
  }

  io.on('connection', (socket) => {
    logger.debug({ conn: socket.id, transport: socket.conn.transport.name }, 'connected')
    admission.expectLogin(socket.id, () => router.userOf(socket.id) !== null, () => socket.disconnect(true))
    socket.on('f', (frame: unknown) => router.receive(socket.id, frame)) // never throws
    socket.on('disconnect', (reason) => {
      logger.debug({ conn: socket.id, reason }, 'disconnected')
      admission.forget(socket.id)
      router.disconnected(socket.id)
    })
  })

  const ticker = setInterval(() => {
    router.tick()
    admission.sweep()
  }, TICK_MS)
  ticker.unref()

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = http.address()
  const port = typeof address === 'object' && address ? address.port : options.port ?? 8080
  const listenHost = options.host ?? '127.0.0.1'
  // Listening on every interface: this machine's own name for it is the one URL sure to work here.
  const urlHost = listenHost === '0.0.0.0' || listenHost === '::' ? 'localhost' : listenHost.includes(':') ? `[${listenHost}]` : listenHost
  const url = `${options.tls ? 'https' : 'http'}://${urlHost}:${port}${basePath}`
  logger.info({ url, mode: options.tokenSecret ? 'token' : 'open' }, 'relay listening')

  const relay: Relay = {
    url, port, http, io, host: router, coordinator, cluster, sfu: sfu ?? null, logger, admission,
    verifier, addressOf, ice,
    get draining() { return draining },
    setTls(tls) {
      if (!('setSecureContext' in http)) throw new Error('the relay was started without TLS')
      http.setSecureContext({ cert: tls.cert, key: tls.key })
    },
    addConnectionKind(prefix, kind) {
      kinds.push([prefix, kind])
    },
    onUpgrade(prefix, handler) {
      upgradeRoutes.push([prefix, handler])
    },
    /**
     * Drains: /readyz turns 503, no new connections are accepted, every client is
     * disconnected (the SDK reconnects: to another process behind a balancer, or to this
     * one once restarted, and resumes its session), commits in flight finish, the store closes.
     */
    async close() {
      draining = true
      clearInterval(ticker)
      const stopped = new Promise<void>((resolve) => http.close(() => resolve())) // stop accepting; done once every connection is gone
      callsWs.close()
      roomsWs.close()
      peerBroker.close()
      io.disconnectSockets(true)
      await io.close() // closes http too; its "not running" error is expected, `stopped` waits for the connections
      await stopped
      await router.settled()
      await cluster?.close()
      await sfu?.close()
      await store.close()
    },
  }
  const callsWs = attachCallsWs(relay) // seed 002 at /ws/calls
  const roomsWs = attachRoomsWs(relay) // seed 003 at /ws/rooms
  const peerBroker = attachPeerBroker(relay) // PeerJS broker at /peerjs (mesh mode)
  attachEasyrtc(relay) // seed 004 on socket.io namespace /easyrtc
  return relay
}

function notFound(response: ServerResponse): void {
  response.writeHead(404, { 'content-type': 'text/plain' })
  response.end('not found')
}

function redirect(response: ServerResponse, location: string): void {
  response.writeHead(308, { location })
  response.end()
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(JSON.stringify(body))
}

/** '' for the root; otherwise `/a/b`: one leading slash, no trailing one. */
export function normalizeBasePath(basePath: string | undefined): string {
  const trimmed = (basePath ?? '').trim().replace(/\/+$/, '')
  if (trimmed === '') return ''
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(trimmed) || trimmed.includes('//') || trimmed.split('/').some((part) => part === '..' || part === '.')) {
    throw new Error(`BASE_PATH must look like /signal (letters, digits, . _ ~ - and /), not ${JSON.stringify(basePath)}`)
  }
  return trimmed
}

/** The request URL below the base path, or null when it lies outside it. */
function withoutBasePath(basePath: string, url: string): string | null {
  if (!basePath) return url
  if (!url.startsWith(`${basePath}/`)) return null
  return url.slice(basePath.length)
}
