import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import express from 'express'
import { decodeJwt } from 'jose'
import { ExpressPeerServer } from 'peer'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { TokenBucket } from '../engine/rate-limit'
import { checkShape, MAX_FRAME_DEPTH } from '../protocol/bounds'
import { PEER_SERIALIZATION } from '../host/peer-codec'
import { MAX_OUTBOUND_BYTES } from './outbound'
import type { Relay } from './server'
import { openMode } from './tokens'

/** Where the PeerJS broker lives; browsers use `{ host, port, path: PEERJS_PATH }`. */
export const PEERJS_PATH = '/peerjs'
/**
 * A peer whose heartbeats (PeerJS sends one every 5 s from the page's JavaScript) stop this
 * long loses its id: a frozen coordinator browser keeps its socket open, so this is what
 * frees `<appId>-coordinator` for the next claim.
 */
export const PEER_ALIVE_TIMEOUT_MS = 15_000
/** Largest frame a peer may send: an SDP offer is a few KiB, and a 95 MB frame stalled every client for 1.3 s. */
export const MAX_PEER_FRAME_BYTES = 64 * 1024
/** Peer ids (sockets) one client address may hold at once: a browser in mesh mode holds two. */
export const MAX_PEERS_PER_ADDRESS = 32
/** Peer ids one app may hold at once, so no app (or address pool) fills the broker for the others. */
export const MAX_PEERS_PER_APP = 1000
/** Peer ids in all: the PeerJS server's own default, kept as a backstop. */
export const MAX_PEERS = 5000
/** Frames per second a peer may send (a PeerJS client sends a heartbeat per 5 s and a few dozen per connection setup). */
export const PEER_FRAMES_PER_SECOND = 100
export const PEER_FRAME_BURST = 200
/** Frames dropped over the rate before the socket is closed: ten seconds of flooding at twice the rate. */
export const MAX_RATE_DROPS = 1000
/** Malformed frames (not JSON, unknown type, too deep, another app's peer) before the socket is closed. */
export const MAX_BAD_FRAMES = 20

/** Frame types a PeerJS client sends; EXPIRE and the rest come only from the broker. */
const CLIENT_TYPES = new Set(['HEARTBEAT', 'OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE'])
/** Types the broker forwards to `dst` (LEAVE without `dst` is a peer leaving the broker). */
const FORWARDED_TYPES = new Set(['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE'])
/** Forwarded types that set up a connection: their payload (an object) carries the broker's attestation. */
const SIGNALING_TYPES = new Set(['OFFER', 'ANSWER', 'CANDIDATE'])
/** What the PeerJS server sends a socket whose id it granted. */
const OPEN_FRAME = JSON.stringify({ type: 'OPEN' })

/** Who a /peerjs socket says it is, read from its upgrade URL `?key=&id=&token=`. */
export interface PeerClaim {
  id: string
  appId: string
  /** The login JWT (the `token` parameter up to its first `~`; what follows is the browser's session nonce). */
  jwt: string
  /** The JWT's subject, or '' when the token is no JWT (open mode). */
  userId: string
}

/**
 * The app of a peer id: ids are `<appId>-<suffix>` (`<appId>-coordinator`, `<appId>-<random hex>`)
 * and suffixes never contain '-', so the app is everything before the last '-' (appIds may contain '-').
 */
export function appOfPeer(id: string): string | null {
  const cut = id.lastIndexOf('-')
  return cut > 0 && cut < id.length - 1 ? id.slice(0, cut) : null
}

/** Reads the claim of an upgrade URL, or says why it is malformed. */
export function parseClaim(url: string): PeerClaim | string {
  const params = new URL(url, 'http://broker').searchParams
  const id = params.get('id') ?? ''
  const appId = appOfPeer(id)
  if (!appId) return 'the peer id must be <appId>-<suffix>'
  const jwt = (params.get('token') ?? '').split('~')[0]
  let userId = ''
  try {
    const payload = decodeJwt(jwt)
    userId = String(payload.sub ?? payload.uid ?? '')
  } catch {
    // Not a JWT: fine in open mode, refused by the verifier with a secret.
  }
  return { id, appId, jwt, userId }
}

/**
 * The PeerJS broker for mesh mode (DESIGN.md "The relay's endpoints"): brokers WebRTC
 * data channels between browsers and, through its unique-id rule, elects the mesh
 * coordinator (whoever holds `<appId>-coordinator`).
 *
 * With a token secret it also attests identities, since the coordinating browser has no
 * secret to check a login token with: every OFFER, ANSWER and CANDIDATE it forwards carries
 * `payload.metadata.verifiedUserId`, the user whose JWT the sending socket presented (whatever
 * the sender wrote there is overwritten), which PeerJS hands the receiver as
 * `DataConnection.metadata`; and the OPEN frame tells a socket whom it was authenticated as,
 * so a coordinator knows that every data channel must carry an attestation. Without a secret
 * the field is deleted: nothing is attested.
 *
 * The broker's own WebSocket server would answer 400 to every other upgrade on the same
 * http.Server and quietly keep socket.io on long-polling (FACTS.md), so it runs with
 * `noServer` and gets only the upgrades routed to PEERJS_PATH. That also lets us admit
 * each upgrade first (token, per-address and per-app limits) and check every frame
 * before the PeerJS server sees it. Clients pick their own peer ids, so the broker's
 * HTTP id API is not needed.
 */
export function attachPeerBroker(relay: Pick<Relay, 'http' | 'logger' | 'verifier' | 'onUpgrade' | 'addressOf'>): { close(): void } {
  let sockets: WebSocketServer | null = null
  const broker = ExpressPeerServer(relay.http, {
    path: '/',
    // Ids are per app and short-lived; a dead peer's id is freed fast so a new coordinator can claim it.
    expire_timeout: 5000,
    alive_timeout: PEER_ALIVE_TIMEOUT_MS,
    allow_discovery: false,
    concurrent_limit: MAX_PEERS,
    createWebSocketServer: (options) => {
      sockets = new WebSocketServer({ noServer: true, path: options.path, maxPayload: MAX_PEER_FRAME_BYTES })
      return sockets
    },
  })
  // Mounting runs the broker's setup (realm, message expiry, the WebSocket server above).
  express().use(PEERJS_PATH, broker)
  // Socket errors never get here (guard() takes them); one line, never a stack, for the server's own.
  broker.on('error', (error: unknown) => relay.logger.warn({ reason: String(error) }, 'peerjs broker error'))

  const byAddress = new Counter()
  const byApp = new Counter()
  const live = new Counter()
  // Open mode accepts any token, so a claim's user proves nothing: it is not attested.
  const attests = relay.verifier !== openMode

  async function admit(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const claim = parseClaim(request.url ?? '')
    if (typeof claim === 'string') return refuse(socket, 400, claim)
    const check = await relay.verifier.verify(claim.jwt, claim.appId, claim.userId, 'peerjs')
    if (!check.ok) {
      relay.logger.debug({ peer: claim.id, reason: check.error.reason }, 'peerjs claim refused')
      return refuse(socket, 401, check.error.reason)
    }
    const server = sockets
    if (!server || socket.destroyed) return void socket.destroy()
    const address = relay.addressOf(request)
    const full = byAddress.count(address) >= MAX_PEERS_PER_ADDRESS ? `at most ${MAX_PEERS_PER_ADDRESS} peer ids per client address`
      : byApp.count(claim.appId) >= MAX_PEERS_PER_APP ? `at most ${MAX_PEERS_PER_APP} peer ids per app` : null
    if (full) {
      relay.logger.debug({ peer: claim.id, address, reason: full }, 'peerjs claim refused')
      return refuse(socket, 429, full)
    }
    // Counted from here until the TCP socket closes, whether or not the upgrade completes.
    byAddress.add(address)
    byApp.add(claim.appId)
    live.add(claim.id)
    socket.once('close', () => {
      byAddress.remove(address)
      byApp.remove(claim.appId)
      live.remove(claim.id)
    })
    server.handleUpgrade(request, socket, head, (ws) => {
      guard(ws, claim, address, attests ? claim.userId : null)
      server.emit('connection', ws, request)
    })
  }

  /**
   * Checks every frame of one socket before the PeerJS server parses it, stamps the signaling
   * frames it forwards with `verifiedUserId` (the verified user, or none in open mode), and caps
   * what is queued for it.
   */
  function guard(ws: WebSocket, claim: PeerClaim, address: string, verifiedUserId: string | null): void {
    const rate = new TokenBucket(PEER_FRAMES_PER_SECOND, PEER_FRAME_BURST)
    let rateDrops = 0
    let badFrames = 0
    let dropped = false
    const drop = (reason: string) => {
      if (dropped) return
      dropped = true
      relay.logger.warn({ peer: claim.id, address, reason }, 'peerjs socket closed')
      ws.terminate()
    }
    const emit = ws.emit.bind(ws) as (event: string | symbol, ...args: unknown[]) => boolean
    ws.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === 'error') {
        // A client's fault (a frame over the limit, a protocol error). ws has sent its close
        // frame; ending the socket now skips reading (and buffering) the rest of a huge frame.
        relay.logger.debug({ peer: claim.id, address, reason: String(args[0]) }, 'peerjs socket error')
        ws.terminate()
        return true
      }
      if (event !== 'message') return emit(event, ...args)
      if (!rate.take(Date.now())) {
        if (++rateDrops === MAX_RATE_DROPS) drop(`over ${PEER_FRAMES_PER_SECOND} frames/s for ${MAX_RATE_DROPS} frames`)
        return false
      }
      const verdict = inspect(args[0] as RawData, args[1] === true, claim.appId)
      if (verdict.kind === 'bad') {
        badFrames += 1
        if (badFrames === 1) relay.logger.warn({ peer: claim.id, address, reason: verdict.reason }, 'peerjs frame dropped (later ones on this socket are counted, not logged)')
        if (badFrames === MAX_BAD_FRAMES) drop(`${MAX_BAD_FRAMES} bad frames`)
        return false
      }
      if (verdict.kind === 'forward' && !live.has(verdict.dst)) {
        // Not queued for an absent peer (the PeerJS server would keep it for 5 s): the dialer learns at once.
        if (verdict.type === 'OFFER') ws.send(JSON.stringify({ type: 'EXPIRE', src: verdict.dst }))
        return false
      }
      if (verdict.kind === 'forward' && attest(verdict.frame, verifiedUserId)) return emit(event, Buffer.from(JSON.stringify(verdict.frame)), false)
      return emit(event, ...args)
    }) as typeof ws.emit
    const send = ws.send.bind(ws) as (...args: unknown[]) => void
    ws.send = ((...args: unknown[]) => {
      // The grant tells the socket whom the broker authenticated it as (a coordinator then expects attested channels).
      if (args[0] === OPEN_FRAME && verifiedUserId !== null) args[0] = JSON.stringify({ type: 'OPEN', verifiedUserId })
      send(...args)
      if (ws.bufferedAmount > MAX_OUTBOUND_BYTES) drop(`over ${MAX_OUTBOUND_BYTES} bytes queued: the peer does not read`)
    }) as typeof ws.send
  }

  relay.onUpgrade(PEERJS_PATH, (request, socket, head) => {
    // Node drops its error listener from upgraded sockets: a client that resets while its token
    // is checked or its refusal is written must not become an uncaught error.
    socket.on('error', () => undefined)
    admit(request, socket, head).catch((error: unknown) => {
      relay.logger.warn({ reason: String(error) }, 'peerjs upgrade failed')
      socket.destroy()
    })
  })
  return {
    close() {
      for (const client of sockets?.clients ?? []) client.terminate()
      sockets?.close()
    },
  }
}

type Frame = Record<string, unknown>
type Verdict = { kind: 'bad'; reason: string } | { kind: 'local' } | { kind: 'forward'; type: string; dst: string; frame: Frame }

/** What a client frame is: malformed, for the broker itself (HEARTBEAT, LEAVE), or to forward to `dst` of the same app. */
function inspect(data: RawData, isBinary: boolean, appId: string): Verdict {
  if (isBinary) return { kind: 'bad', reason: 'a binary frame' }
  let frame: unknown
  try {
    frame = JSON.parse(data.toString())
  } catch {
    return { kind: 'bad', reason: 'not JSON' }
  }
  const shape = checkShape(frame, MAX_FRAME_DEPTH)
  if (!shape.ok) return { kind: 'bad', reason: shape.reason }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return { kind: 'bad', reason: 'not an object' }
  const { type, dst } = frame as { type?: unknown; dst?: unknown }
  if (typeof type !== 'string' || !CLIENT_TYPES.has(type)) return { kind: 'bad', reason: 'an unknown type' }
  if (!FORWARDED_TYPES.has(type) || (type === 'LEAVE' && dst === undefined)) return { kind: 'local' }
  if (typeof dst !== 'string' || appOfPeer(dst) !== appId) return { kind: 'bad', reason: 'addressed to no peer of its app' }
  // PeerJS always sends one; the attestation goes into it.
  if (SIGNALING_TYPES.has(type) && !isPlainObject((frame as Frame).payload)) return { kind: 'bad', reason: 'a signaling frame without a payload object' }
  // Our mesh speaks only its own codec: a data OFFER naming another serialization would have the
  // receiving browser decode with it (BinaryPack froze a coordinator on 5 bytes) or throw on an unknown name.
  const payload = (frame as Frame).payload as Frame | undefined
  if (type === 'OFFER' && payload?.type !== 'data') return { kind: 'bad', reason: 'an offer that is not a data connection' }
  if (type === 'OFFER' && payload?.serialization !== PEER_SERIALIZATION) return { kind: 'bad', reason: `a data offer not in the mesh's serialization (${PEER_SERIALIZATION})` }
  return { kind: 'forward', type, dst, frame: frame as Frame }
}

/**
 * Sets `payload.metadata.verifiedUserId` of a signaling frame to the sender's verified user,
 * or deletes it when there is none (open mode), so no sender can forge it. Returns whether
 * the frame changed (then it must be re-encoded).
 */
function attest(frame: Frame, verifiedUserId: string | null): boolean {
  if (!SIGNALING_TYPES.has(String(frame.type))) return false
  const payload = frame.payload as Frame
  const metadata = isPlainObject(payload.metadata) ? payload.metadata : null
  if (verifiedUserId === null) {
    if (!metadata || !Object.hasOwn(metadata, 'verifiedUserId')) return false
    delete metadata.verifiedUserId
    return true
  }
  // A sender's metadata that is not an object is replaced: the receiver must find the stamp.
  payload.metadata = { ...metadata, verifiedUserId }
  return true
}

function isPlainObject(value: unknown): value is Frame {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Refuses an upgrade with a plain HTTP answer. */
function refuse(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return
  socket.once('finish', () => socket.destroy())
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`)
}

/** Live sockets per key (address, app, peer id). */
class Counter {
  private readonly counts = new Map<string, number>()
  count(key: string): number {
    return this.counts.get(key) ?? 0
  }
  has(key: string): boolean {
    return this.counts.has(key)
  }
  add(key: string): void {
    this.counts.set(key, this.count(key) + 1)
  }
  remove(key: string): void {
    const left = this.count(key) - 1
    if (left > 0) this.counts.set(key, left)
    else this.counts.delete(key)
  }
}
