import { Peer, type DataConnection, type PeerError } from 'peerjs'
import { linkConnId, parseEnvelope, type Envelope } from '../protocol/peer-envelope'
import { IdbStore } from '../store/idb-store'
import { relayEndpoint } from '../transport/relay-url'
import type { EnvelopeBus } from '../transport/follower-link'
import { CoordinatorSeat, HostedCoordinator, type RemoteIdentity } from './hosted-coordinator'
import { MAX_TO_COORDINATOR_CHARS, MAX_TO_FOLLOWER_CHARS, PEER_SERIALIZATION, PeerMessageDecoder, encodePeerMessage } from './peer-codec'
import { ReplicatingStore, type Replica } from './replicating-store'

/** A browser that lost its coordinator tries to claim the coordinator id at most this often. */
export const CLAIM_INTERVAL_MS = 500
/** A browser without a synced copy of the state waits this long before claiming, so a synced one wins. */
export const UNSYNCED_CLAIM_DELAY_MS = 3000
/** Opening a data channel to the coordinator fails after this long. */
export const DIAL_TIMEOUT_MS = 5000
/** Undecodable messages a data channel may send (honest peers send none): a burst, then this many per second; past it the channel is closed. */
export const BAD_MESSAGE_BURST = 200
export const BAD_MESSAGES_PER_SECOND = 20

/** PeerJS errors that mean a peer lost (or never got) its socket at the broker. */
const BROKER_LOST: ReadonlySet<string> = new Set(['unavailable-id', 'network', 'server-error', 'socket-error', 'socket-closed'])

export interface BrokerAddress { host: string; port: number; secure: boolean; path: string }

/** The PeerJS broker the relay hosts at /peerjs (under its path prefix), derived from the relay URL. */
export function brokerAt(url: string): BrokerAddress {
  const parsed = new URL(url)
  const secure = parsed.protocol === 'https:'
  return { host: parsed.hostname, port: Number(parsed.port || (secure ? 443 : 80)), secure, path: relayEndpoint(url, '/peerjs').path }
}

/**
 * The PeerJS `token` of this browser's sockets: the login JWT, which the relay's broker
 * checks at the upgrade (its app must be the peer id's app), then `~` and a nonce of this
 * browser. The broker lets a socket with the same id and the same token take over a
 * half-open one (PeerJS's reconnect), so two browsers holding one JWT must still differ.
 */
export function brokerToken(jwt: string | undefined, nonce: string): string {
  return jwt ? `${jwt}~${nonce}` : nonce
}

/** The IndexedDB database that holds this browser's copy of an app's state in mesh mode. */
export function meshDatabaseName(appId: string): string {
  return `rtm-mesh:${appId}`
}

/**
 * This browser's seat in an app's mesh (DESIGN.md "Mesh mode"): browsers that share no
 * BroadcastChannel reach each other over PeerJS data channels. The broker grants a peer
 * id once, so whoever holds `<appId>-coordinator` coordinates; a second claim gets
 * `unavailable-id` and follows. When the coordinator goes, its id is freed and the next
 * claim wins. The coordinator replicates every commit to the followers before it
 * acknowledges, so the next coordinator serves the same durable state.
 */
export class MeshSeat extends CoordinatorSeat {
  readonly peerId: string
  readonly coordinatorPeerId: string
  private readonly broker: BrokerAddress
  private readonly nonce = randomId()
  private token: string
  private self: Peer | null = null
  private claim: Peer | null = null
  private replica: Promise<IdbStore> | null = null
  private replicaWrites: Promise<void> = Promise.resolve()
  private synced = false
  private everLinked = false
  private lastClaim = 0
  private destroyed = false
  private claimSettled: () => void = () => undefined
  /** Resolves once this browser's first claim of the coordinator id has succeeded or failed. */
  readonly firstClaim = new Promise<void>((resolve) => { this.claimSettled = resolve })

  /**
   * `token`: the login token (with a secret the broker refuses sockets without one for this app).
   * `rtcConfiguration`: the ICE servers and policy for data channels, read at each new connection
   * (default none: peers reach each other directly).
   */
  constructor(readonly appId: string, brokerUrl: string, token?: string, private readonly rtcConfiguration: () => RTCConfiguration = () => ({ iceServers: [] })) {
    super()
    this.peerId = `${appId}-${randomId()}`
    this.coordinatorPeerId = `${appId}-coordinator`
    this.broker = brokerAt(brokerUrl)
    this.token = brokerToken(token, this.nonce)
    this.tryClaim()
  }

  /** A renewed login token: used by the next claim and by reconnects of this browser's sockets. */
  useToken(token: string | undefined): void {
    this.token = brokerToken(token, this.nonce)
    for (const peer of [this.self, this.claim]) if (peer) peer.options.token = this.token
  }

  describe(): string {
    return this.isCoordinator ? `this browser (${this.peerId})` : `peer ${this.coordinatorPeerId}`
  }

  /**
   * Opens a data channel to the coordinator as an envelope bus; `onGone` runs when it
   * closes. The seat also keeps its copy of the durable state from the `replicate`
   * envelopes that arrive on it.
   */
  async dial(onGone: () => void): Promise<EnvelopeBus> {
    const self = await this.openSelf()
    const connection = self.connect(this.coordinatorPeerId, { reliable: true, serialization: PEER_SERIALIZATION })
    let unavailable: ((error: PeerError<string>) => void) | null = null
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the coordinator did not open a data channel')), DIAL_TIMEOUT_MS)
      connection.once('open', () => { clearTimeout(timer); resolve() })
      connection.once('error', (error) => { clearTimeout(timer); reject(error) })
      unavailable = (error) => {
        if (error.type === 'peer-unavailable') { clearTimeout(timer); reject(error) }
      }
      self.on('error', unavailable)
    }).catch((error: unknown) => {
      connection.close()
      this.coordinatorLost()
      throw error
    }).finally(() => { if (unavailable) self.off('error', unavailable) })
    this.everLinked = true
    const bus = dataConnectionBus(connection, MAX_TO_FOLLOWER_CHARS, () => {
      this.coordinatorLost()
      onGone()
    })
    bus.listen((raw) => {
      const envelope = parseEnvelope(raw)
      if (envelope?.kind === 'replicate' && envelope.from === this.coordinatorPeerId && envelope.to === this.peerId) this.keepCopy(envelope, bus)
    })
    return bus
  }

  /** Our link to the coordinator failed or closed: it may be gone, so try to take over. */
  coordinatorLost(): void {
    if (this.destroyed || this.isCoordinator) return
    const delay = this.synced || !this.everLinked ? 0 : UNSYNCED_CLAIM_DELAY_MS
    setTimeout(() => this.tryClaim(), delay)
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    await this.stepDown('the coordinator left')
    this.self?.destroy()
    await (await this.replica?.catch(() => null))?.close()
  }

  private tryClaim(): void {
    if (this.destroyed || this.claim || Date.now() - this.lastClaim < CLAIM_INTERVAL_MS) return
    this.lastClaim = Date.now()
    const claim = new Peer(this.coordinatorPeerId, this.peerOptions())
    this.claim = claim
    // With a token secret the broker's grant (OPEN) names the user it authenticated this socket as.
    let brokerAttests = false
    claim.socket.on('message', (message: { type?: unknown; verifiedUserId?: unknown }) => {
      if (message.type === 'OPEN') brokerAttests = typeof message.verifiedUserId === 'string'
    })
    claim.once('open', () => void this.serve(claim, () => brokerAttests))
    claim.on('error', (error: PeerError<string>) => {
      // A refused claim (no valid token, a limit) looks the same as a lost broker: a network error.
      if (BROKER_LOST.has(error.type)) {
        // Someone else coordinates (or the broker is unreachable): follow.
        if (this.claim === claim) void this.stepDown(`lost the coordinator id: ${error.type}`)
        this.claimSettled()
      }
    })
  }

  private peerOptions(): ConstructorParameters<typeof Peer>[1] {
    // Never PeerJS's default ICE servers: they are public hosts (FACTS.md).
    return { ...this.broker, key: 'peerjs', token: this.token, config: liveRtcConfiguration(this.rtcConfiguration), debug: 0 }
  }

  /**
   * This browser's own peer at the broker, connected when a dial needs it: a socket the
   * broker refused (a bad token, a limit) is tried again on the next dial, never in a loop.
   */
  private openSelf(): Promise<Peer> {
    let peer = this.self
    if (peer?.open) return Promise.resolve(peer)
    if (!peer || peer.destroyed) {
      peer = new Peer(this.peerId, this.peerOptions())
      peer.on('error', () => undefined) // per-call errors are handled where they happen
      this.self = peer
    } else if (peer.disconnected) {
      peer.reconnect()
    }
    const self = peer
    return new Promise((resolve, reject) => {
      const settle = (error: unknown) => {
        clearTimeout(timer)
        self.off('open', opened)
        self.off('error', failed)
        if (error) reject(error)
        else resolve(self)
      }
      const opened = () => settle(null)
      const failed = (error: PeerError<string>) => { if (BROKER_LOST.has(error.type)) settle(error) }
      const timer = setTimeout(() => settle(new Error('the broker did not answer')), DIAL_TIMEOUT_MS)
      self.on('open', opened)
      self.on('error', failed)
    })
  }

  /** `brokerAttests`: whether the broker vouched for this claim, so it attests every data channel too. */
  private async serve(claim: Peer, brokerAttests: () => boolean): Promise<void> {
    await this.replicaWrites
    const local = await this.openReplica()
    const store = new ReplicatingStore(local, this.coordinatorPeerId)
    const links = new Map<string, { connection: DataConnection; bus: EnvelopeBus; replica: Replica }>()
    const hosted = await HostedCoordinator.start(store, {
      send: (targets, frame) => {
        // One envelope per data channel, listing the links on it.
        const byLink = new Map<EnvelopeBus, string[]>()
        for (const conn of targets) {
          const entry = links.get(conn)
          if (entry) byLink.set(entry.bus, [...(byLink.get(entry.bus) ?? []), conn])
        }
        for (const [bus, conns] of byLink) bus.post({ kind: 'frame', from: this.coordinatorPeerId, targets: conns, frame })
      },
      close: (conn, reason) => {
        const entry = links.get(conn)
        const [peer, link] = conn.split('/')
        if (entry && peer && link) entry.bus.post({ kind: 'close', from: this.coordinatorPeerId, to: peer, link, reason })
      },
    }, {
      onStoreFailure: () => { if (this.claim === claim) void this.stepDown('the coordinator browser could not store a write') },
      // Room JOIN acks list the servers this mesh's data channels use (URLs only: credentials stay here).
      iceUrls: () => (this.rtcConfiguration().iceServers ?? []).flatMap((server) => [server.urls].flat()),
    })
    if (this.claim !== claim || this.destroyed) return void hosted.stop('stepped down')
    this.hosted = hosted
    this.claimSettled()
    claim.on('connection', (connection) => {
      // The dialer picks the serialization and PeerJS would decode with it (BinaryPack can
      // throw or freeze this page): refuse any other before a byte arrives.
      if (connection.serialization !== PEER_SERIALIZATION) return connection.close()
      const identity = attestedIdentity(connection, this.appId, brokerAttests())
      connection.once('open', () => this.serveConnection(hosted, store, links, connection, identity))
    })
    claim.on('disconnected', () => { if (this.claim === claim && !this.destroyed) claim.reconnect() })
  }

  /** One follower data channel: its envelopes, its links (each logs in only as `identity`), its replica. */
  private serveConnection(hosted: HostedCoordinator, store: ReplicatingStore, links: Map<string, { connection: DataConnection; bus: EnvelopeBus; replica: Replica }>, connection: DataConnection, identity: RemoteIdentity): void {
    const conns = new Set<string>()
    let replica: Replica | null = null
    // One snapshot per channel, however many links say hello at once: welcomes wait for it.
    let replicaReady: Promise<void> | null = null
    const gone = () => {
      if (replica) store.removeReplica(replica)
      for (const conn of conns) {
        links.delete(conn)
        hosted.detach(conn)
      }
      conns.clear()
    }
    const bus = dataConnectionBus(connection, MAX_TO_COORDINATOR_CHARS, gone)
    bus.listen((raw) => {
      const envelope = parseEnvelope(raw)
      if (!envelope || !('to' in envelope) || envelope.to !== this.coordinatorPeerId) return
      // The channel's peer id comes from the broker; an envelope naming another peer would reach that peer's links.
      if (envelope.from !== connection.peer) return
      if (envelope.kind === 'replicated') return replica ? store.confirmed(replica, envelope.seq) : undefined
      if (!('link' in envelope)) return
      const conn = linkConnId(envelope.from, envelope.link)
      const answer = (kind: 'welcome' | 'pong') => bus.post({ kind, from: this.coordinatorPeerId, to: envelope.from, link: envelope.link })
      switch (envelope.kind) {
        case 'hello': {
          replica ??= { peer: envelope.from, post: (message) => bus.post(message), drop: () => bus.release() }
          // A new link, or one the coordinator closed (a kick) opened again: attach it.
          if (!conns.has(conn) || !hosted.has(conn)) {
            conns.add(conn)
            links.set(conn, { connection, bus, replica })
            hosted.attachRemote(conn, identity)
          }
          // Welcome only once the follower holds the full state: it may coordinate next.
          replicaReady ??= store.addReplica(replica)
          void replicaReady.then(() => answer('welcome'))
          return
        }
        case 'req':
          return conns.has(conn) ? hosted.receive(conn, envelope.frame) : undefined
        case 'ping':
          return conns.has(conn) ? answer('pong') : undefined
        case 'bye':
          conns.delete(conn)
          links.delete(conn)
          return hosted.detach(conn)
        default:
          return
      }
    })
  }

  private keepCopy(envelope: Extract<Envelope, { kind: 'replicate' }>, bus: EnvelopeBus): void {
    this.replicaWrites = this.replicaWrites.then(async () => {
      const copy = await this.openReplica()
      const entries = envelope.writes.map(({ key, value }) => ({ key, value: value ?? null }))
      if (envelope.seq === 0) await copy.replaceAll(entries)
      else await copy.commit(entries)
      this.synced = true
      bus.post({ kind: 'replicated', from: this.peerId, to: this.coordinatorPeerId, seq: envelope.seq })
    }).catch(() => {
      // Not confirmed: the coordinator drops us as a replica and we resync on the next link,
      // into a database opened anew (the browser may have closed this one under us).
      this.synced = false
      const stale = this.replica
      this.replica = null
      void stale?.then((store) => store.close(), () => undefined)
    })
  }

  private openReplica(): Promise<IdbStore> {
    this.replica ??= IdbStore.open(meshDatabaseName(this.appId))
    return this.replica
  }

  private async stepDown(reason: string): Promise<void> {
    const claim = this.claim
    this.claim = null
    const hosted = this.hosted
    this.hosted = null
    claim?.destroy()
    if (hosted) {
      // The replica store is shared with follower duty; reopen it when needed.
      this.replica = null
      await hosted.stop(reason)
    }
  }
}

/**
 * Who the broker says is behind a data channel: the relay's broker stamps the verified user
 * of the dialing socket into the OFFER's metadata (`verifiedUserId`, which no peer can forge),
 * or nothing in open mode. A channel without the stamp at a broker that vouched for our own
 * claim did not come through its checks, so it may not log in.
 */
function attestedIdentity(connection: DataConnection, appId: string, brokerAttests: boolean): RemoteIdentity {
  const metadata: unknown = connection.metadata
  const verified = typeof metadata === 'object' && metadata !== null ? (metadata as { verifiedUserId?: unknown }).verifiedUserId : undefined
  // The broker forwards only between peers of one app, and checked the dialer's token for it.
  if (typeof verified === 'string') return { appId, userId: verified }
  return brokerAttests ? 'unattested' : 'open'
}

/**
 * An envelope bus over one PeerJS data connection (serialization `raw`, our codec):
 * messages over `maxChars`, or that are not our codec's, are dropped and counted; a
 * channel that keeps sending them is closed.
 */
function dataConnectionBus(connection: DataConnection, maxChars: number, onGone: () => void): EnvelopeBus {
  const listeners = new Set<(raw: unknown) => void>()
  const decoder = new PeerMessageDecoder(maxChars)
  let gone = false
  let badAllowance = BAD_MESSAGE_BURST
  let badCountedAt = Date.now()
  const end = () => {
    if (gone) return
    gone = true
    onGone()
  }
  const release = () => {
    end()
    listeners.clear()
    connection.close()
  }
  connection.on('data', (data) => {
    const decoded = decoder.push(data)
    if (decoded.kind === 'value') for (const listener of listeners) listener(decoded.value)
    if (decoded.kind !== 'bad') return
    const now = Date.now()
    badAllowance = Math.min(BAD_MESSAGE_BURST, badAllowance + ((now - badCountedAt) / 1000) * BAD_MESSAGES_PER_SECOND) - 1
    badCountedAt = now
    if (badAllowance >= 0) return
    console.warn(`closing the data channel of ${connection.peer}: too many undecodable messages (last: ${decoded.reason})`)
    release()
  })
  connection.on('close', end)
  connection.on('error', end)
  // Remote close events are unreliable (FACTS.md): watch the peer connection itself.
  const watch = () => {
    const state = connection.peerConnection?.connectionState
    if (state === 'failed' || state === 'closed' || state === 'disconnected') {
      end()
      connection.close()
    }
  }
  connection.peerConnection?.addEventListener('connectionstatechange', watch)
  return {
    post(envelope) {
      if (gone || !connection.open) return
      let pieces: string[]
      try {
        pieces = encodePeerMessage(envelope)
      } catch (error) {
        // Our own values are bounded where they enter; one that is not is a bug, not worth the channel.
        return console.error(`an envelope to ${connection.peer} could not be encoded:`, error)
      }
      for (const piece of pieces) void connection.send(piece)
    },
    listen(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    release,
  }
}

/**
 * An RTCConfiguration whose fields are read from `current()` each time PeerJS makes a peer
 * connection (it keeps one config object for the life of a Peer), so each data channel
 * gets the TURN credentials valid at that moment.
 */
function liveRtcConfiguration(current: () => RTCConfiguration): RTCConfiguration {
  return {
    get iceServers() { return current().iceServers },
    get iceTransportPolicy() { return current().iceTransportPolicy },
  }
}

function randomId(): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('')
}
