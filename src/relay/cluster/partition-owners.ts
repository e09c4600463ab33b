import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ConnId } from '../../engine/effects'
import type { CoordinatorHost } from '../../host/coordinator-host'
import type { ConnectionSink, DurableStore } from '../../host/ports'
import type { ServerFrame } from '../../protocol/events'
import type { Lease, PartitionLeases } from './partition-lease'
import type { ClusterKeys } from './redis-keys'
import { RedisPartitionStore } from './redis-store'
import { encodeClusterMessage, encodeFrame, type Inbound } from './wire'

/**
 * A gateway whose key (refreshed every WATCH_MS) is gone this long is taken for dead and
 * its connections leave. Longer than a lease: a dead gateway's clients have reconnected
 * elsewhere anyway, so there is no hurry, and a busy one is not cut off for a stall.
 */
export const GATEWAY_TTL_MS = 6_000
/** An owned partition no connection has used this long is released. */
export const IDLE_RELEASE_MS = 30_000

/** A coordinator host for a partition this process now owns, over `store`, delivering to `sink`. */
export type HostFor = (partition: string, store: DurableStore, sink: ConnectionSink, onStoreFailure: (error: unknown) => void) => CoordinatorHost

/** How owners reach gateways: this process's own (in memory) and the others (a message, see ClusterRouter). */
export interface GatewayLinks {
  /** A message for another process's gateway (sent with the rest of this step's, in order). */
  toGateway(gateway: string, message: string): void
  /** Frames for this process's own sockets. */
  deliverHere(to: ConnId[], frame: ServerFrame): void
  closeHere(conn: ConnId, reason: string): void
  /** This process's gateway: the partition changed hands, its connections reconnect. */
  movedHere(partition: string): void
}

interface Owned {
  lease: Lease
  /** Null while the partition loads from Redis; frames wait in `queue`. */
  host: CoordinatorHost | null
  queue: Inbound[]
  /** Past this the lease may have expired unseen (a paused process): stop before touching anything. */
  validUntil: number
  /** Connections by gateway, so a dead gateway's connections can be ended. */
  gateways: Map<string, Set<ConnId>>
  /** Since when no connection uses the partition (null: in use). */
  idleSince: number | null
}

/**
 * The partitions this process owns: a coordinator host each, over a fenced Redis store,
 * kept while the lease is renewed and given up (stepped down) the moment it may not be.
 * Connections are `<gateway>|<its connection id>`.
 */
export class PartitionOwners {
  private readonly owned = new Map<string, Owned>()
  private closed = false

  constructor(private readonly parts: {
    processId: string
    redis: Redis
    keys: ClusterKeys
    leases: PartitionLeases
    leaseMs: number
    hostFor: HostFor
    links: GatewayLinks
    logger: Logger
  }) {}

  get partitions(): string[] {
    return [...this.owned.keys()]
  }

  /** The lease this process holds on `partition`, as it believes. */
  leaseOf(partition: string): Lease | undefined {
    return this.owned.get(partition)?.lease
  }

  /** Takes a partition whose lease this process just got: loads it from Redis, then serves what waited. */
  async own(lease: Lease): Promise<void> {
    const { parts } = this
    const owned: Owned = { lease, host: null, queue: [], validUntil: Date.now() + parts.leaseMs, gateways: new Map(), idleSince: null }
    this.owned.set(lease.partition, owned)
    const sink: ConnectionSink = {
      send: (to, frame) => this.toGateways(to, frame),
      close: (conn, reason) => {
        const [gateway, local] = splitConn(conn)
        if (gateway === parts.processId) parts.links.closeHere(local, reason)
        else parts.links.toGateway(gateway, encodeClusterMessage({ k: 'x', c: local, r: reason }))
      },
    }
    try {
      const host = parts.hostFor(lease.partition, new RedisPartitionStore(parts.redis, parts.keys, lease), sink, (error) => {
        parts.logger.warn({ err: error, partition: lease.partition }, 'a commit was refused or failed; stepping down from the partition')
        this.stepDown(lease.partition, owned, 'a commit failed')
      })
      await host.start()
      owned.host = host
    } catch (error) {
      this.owned.delete(lease.partition)
      await parts.leases.release(lease).catch(() => undefined)
      throw error
    }
    parts.logger.info({ partition: lease.partition, token: lease.token }, 'owning partition')
    for (const message of owned.queue.splice(0)) this.receive(message)
  }

  /** A gateway's frame (or a connection's end) for a partition this process should own. */
  receive(message: Inbound): void {
    const { processId, links } = this.parts
    const owned = this.owned.get(message.p)
    if (owned && Date.now() > owned.validUntil) this.stepDown(message.p, owned, 'paused past its lease') // not ours to serve
    const current = this.owned.get(message.p)
    if (!current) return message.g === processId ? links.movedHere(message.p) : links.toGateway(message.g, encodeClusterMessage({ k: 'm', p: message.p, g: processId }))
    if (!current.host) return void current.queue.push(message)
    const conn = `${message.g}|${message.c}`
    let conns = current.gateways.get(message.g)
    if (message.k === 'd') {
      conns?.delete(conn)
      return current.host.disconnected(conn)
    }
    if (!conns) current.gateways.set(message.g, (conns = new Set()))
    conns.add(conn)
    if (message.k === 'f') current.host.receive(conn, message.f)
    else if (message.k === 'c') current.host.receiveCall(conn, message.f, message.i)
    else current.host.receiveRoom(conn, message.f, message.i)
  }

  /** The clock for every host; a partition nobody used for IDLE_RELEASE_MS is released. */
  tick(): void {
    const now = Date.now()
    for (const [partition, owned] of this.owned) {
      if (!owned.host) continue
      owned.host.tick()
      if ([...owned.gateways.values()].some((conns) => conns.size > 0)) owned.idleSince = null
      else if (owned.idleSince === null) owned.idleSince = now
      else if (now - owned.idleSince > IDLE_RELEASE_MS) void this.release(partition, owned)
    }
  }

  async settled(): Promise<void> {
    await Promise.all([...this.owned.values()].map((owned) => owned.host?.settled()))
  }

  /** Hands every partition over: settled, then released, so another process takes them at once. */
  async close(): Promise<void> {
    this.closed = true
    await this.settled()
    await Promise.allSettled([...this.owned.values()].map((owned) => this.parts.leases.release(owned.lease)))
    this.owned.clear()
  }

  /** Every RENEW_MS: extend each lease; one lost (or unrenewable past its end) is given up. */
  async renewLeases(): Promise<void> {
    await Promise.all([...this.owned].map(async ([partition, owned]) => {
      const startedAt = Date.now()
      try {
        if (await this.parts.leases.renew(owned.lease)) owned.validUntil = startedAt + this.parts.leaseMs
        else this.stepDown(partition, owned, 'its lease is gone')
      } catch {
        if (Date.now() > owned.validUntil) this.stepDown(partition, owned, 'its lease could not be renewed in time')
      }
    }))
  }

  /** Steps down from `partition` if this process believes it holds it under another lease than `holder`. */
  stepDownUnless(partition: string, holder: string): void {
    const owned = this.owned.get(partition)
    if (owned && owned.lease.value !== holder) this.stepDown(partition, owned, 'its lease was replaced')
  }

  /** A gateway that died took its sockets with it: its connections leave the partitions here. */
  async endConnectionsOfDeadGateways(): Promise<void> {
    const { processId, redis, keys, links, logger } = this.parts
    const gateways = new Set<string>()
    for (const owned of this.owned.values()) for (const gateway of owned.gateways.keys()) if (gateway !== processId) gateways.add(gateway)
    if (gateways.size === 0) return
    const list = [...gateways]
    const alive = await redis.mget(list.map((gateway) => keys.gateway(gateway)))
    list.forEach((gateway, index) => {
      if (alive[index] !== null) return
      for (const owned of this.owned.values()) {
        const conns = owned.gateways.get(gateway)
        owned.gateways.delete(gateway)
        for (const conn of conns ?? []) {
          owned.host?.disconnected(conn)
          // A gateway only stalled (its event loop held up past the TTL) is alive: its socket
          // must not stay open on a session that is gone. It closes it, and the client resumes.
          links.toGateway(gateway, encodeClusterMessage({ k: 'x', c: splitConn(conn)[1], r: 'its relay process missed its heartbeat; reconnect' }))
        }
      }
      logger.info({ gateway }, 'a gateway process is gone; its connections left')
    })
  }

  /** An owner's frame: one message per gateway holding recipients, the frame encoded once. */
  private toGateways(to: ConnId[], frame: ServerFrame): void {
    let encoded: string | undefined
    for (const [gateway, conns] of groupByGateway(to)) {
      if (gateway === this.parts.processId) {
        this.parts.links.deliverHere(conns, frame)
        continue
      }
      encoded ??= encodeFrame(frame)
      this.parts.links.toGateway(gateway, `{"k":"o","to":${JSON.stringify(conns)},"f":${encoded}}`)
    }
  }

  /**
   * Hands an unused partition back: a process does not keep (and renew) every app it ever
   * served. Frames that still come are answered "moved", and their gateway finds the next owner.
   */
  private async release(partition: string, owned: Owned): Promise<void> {
    this.owned.delete(partition)
    await owned.host?.settled()
    await this.parts.leases.release(owned.lease).catch(() => undefined) // unreleased, it runs out in LEASE_MS
  }

  /**
   * Not ours any more (lease lost, a commit fenced off, paused past the lease): forget the
   * partition and tell the gateways, whose clients reconnect and resume at the next owner.
   * Anything the old host still tries to commit is refused by the fencing check.
   */
  private stepDown(partition: string, owned: Owned, why: string): void {
    const { processId, leases, links, logger } = this.parts
    if (this.owned.get(partition) !== owned) return
    this.owned.delete(partition)
    // Redis may still hold this lease (a renewal landed later than this process counts): give
    // it up, so the old host's commits are fenced off and the next owner takes a new token.
    void leases.release(owned.lease).catch(() => undefined)
    if (this.closed) return
    logger.warn({ partition, token: owned.lease.token, why }, 'stepped down from a partition')
    for (const gateway of owned.gateways.keys()) {
      if (gateway !== processId) links.toGateway(gateway, encodeClusterMessage({ k: 'm', p: partition, g: processId }))
    }
    links.movedHere(partition)
  }
}

function splitConn(conn: ConnId): [gateway: string, local: ConnId] {
  const bar = conn.indexOf('|')
  return [conn.slice(0, bar), conn.slice(bar + 1)]
}

function groupByGateway(conns: ConnId[]): Map<string, ConnId[]> {
  const groups = new Map<string, ConnId[]>()
  for (const conn of conns) {
    const [gateway, local] = splitConn(conn)
    const group = groups.get(gateway)
    if (group) group.push(local)
    else groups.set(gateway, [local])
  }
  return groups
}
