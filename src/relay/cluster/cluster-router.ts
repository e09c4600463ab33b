import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { CallIdentity } from '../../engine/calls'
import type { ConnId } from '../../engine/effects'
import { isValidName } from '../../engine/validate'
import type { CoordinatorHost, FrameRouter, RoomIdentity } from '../../host/coordinator-host'
import type { ConnectionSink } from '../../host/ports'
import { MAX_FRAME_DEPTH, checkShape } from '../../protocol/bounds'
import { rtmError } from '../../protocol/errors'
import type { ServerFrame } from '../../protocol/events'
import { LEASE_MS, PartitionLeases, RENEW_MS, leaseOf, ownerOfLease } from './partition-lease'
import { GATEWAY_TTL_MS, PartitionOwners, type HostFor } from './partition-owners'
import { ClusterKeys, partitionOfApp, redisClient } from './redis-keys'
import { decodeClusterMessage, encodeClusterMessage, type Inbound, type Outbound } from './wire'

/** How often a gateway checks that the owners of its connections' partitions are still the same. */
export const WATCH_MS = 250

export interface ClusterOptions {
  /** REDIS_URL, e.g. `redis://127.0.0.1:6379`. */
  redisUrl: string
  /** REDIS_PREFIX: every key and channel starts with it (default `sk:`). */
  prefix?: string
  /** RELAY_NAME: how this process is named to the others and on the page (the relay picks `relay-<random>` when unset). */
  processId: string
  leaseMs?: number
}

/** What the relay gives the router: how to run a partition, and where its own sockets are. */
export interface ClusterParts {
  hostFor: HostFor
  /** This process's sockets (socket.io, /ws/calls, /ws/rooms, EasyRTC). */
  localSink: ConnectionSink
  /** Answers frames that belong to no partition (anything before a login naming a valid app) as one relay would. */
  lobby: CoordinatorHost
  logger: Logger
}

interface Binding {
  partition: string
  /** The login request in flight: its id and who it names (the gateway learns the outcome from the reply). */
  login: { id: number; appId: string; userId: string } | null
  identity: { appId: string; userId: string } | null
}

/**
 * Scaled mode: every process is a gateway for its own sockets and the owner of some
 * partitions. A connection is bound to its app's partition at its login (raw /ws sockets
 * at their upgrade); its frames go to the partition's owner over Redis pub/sub (or
 * straight in, when that is this process), and the owner's events come back to the
 * gateways holding the recipients, one message per gateway. An owner holds a lease with a
 * fencing token; its commits carry the token, so one that lost the lease cannot write.
 */
export class ClusterRouter implements FrameRouter {
  readonly processId: string
  private readonly redis: Redis
  private readonly subscriber: Redis
  private readonly keys: ClusterKeys
  private readonly leases: PartitionLeases
  private readonly leaseMs: number
  // Gateway side.
  private readonly bound = new Map<ConnId, Binding>()
  private readonly byPartition = new Map<string, Set<ConnId>>()
  /** The lease value (`<process> <token>`) of each partition's owner, as last seen. */
  private readonly ownerLeases = new Map<string, string>()
  private readonly resolving = new Map<string, Inbound[]>()
  /** The partitions this process owns. */
  private readonly owned: PartitionOwners
  /** Messages for other gateways gathered during the current step (see toGateway). */
  private readonly outboxes = new Map<string, string[]>()
  private outboxFlushQueued = false
  private readonly timers: NodeJS.Timeout[] = []
  private redisAwaySince: number | null = null

  private constructor(options: ClusterOptions, private readonly parts: ClusterParts) {
    this.processId = options.processId
    if (this.processId.includes('|') || this.processId.includes(' ')) throw new Error(`RELAY_NAME must not contain '|' or spaces: ${this.processId}`)
    this.keys = new ClusterKeys(options.prefix ?? 'sk:')
    this.leaseMs = options.leaseMs ?? LEASE_MS
    this.redis = redisClient(options.redisUrl)
    // Resubscribed by hand (listenAgain): ioredis's own resubscription is not retried when it fails.
    this.subscriber = redisClient(options.redisUrl, { enableOfflineQueue: true, autoResubscribe: false })
    this.leases = new PartitionLeases(this.redis, this.keys, this.processId, this.leaseMs)
    for (const client of [this.redis, this.subscriber]) client.on('error', (error: Error) => parts.logger.debug({ err: error }, 'redis'))
    this.owned = new PartitionOwners({
      processId: this.processId, redis: this.redis, keys: this.keys, leases: this.leases, leaseMs: this.leaseMs,
      hostFor: parts.hostFor, logger: parts.logger,
      links: {
        toGateway: (gateway, message) => this.toGateway(gateway, message),
        deliverHere: (to, frame) => this.deliverHere(to, frame),
        closeHere: (conn, reason) => parts.localSink.close(conn, reason),
        movedHere: (partition) => this.moved(partition),
      },
    })
  }

  static async start(options: ClusterOptions, parts: ClusterParts): Promise<ClusterRouter> {
    const router = new ClusterRouter(options, parts)
    await Promise.all([router.redis.connect(), router.subscriber.connect()])
    const [, appendfsync] = await router.redis.config('GET', 'appendfsync') as [string, string]
    if (appendfsync !== 'always') parts.logger.warn({ appendfsync }, 'Redis does not fsync every write (appendfsync always): an acknowledged write may be lost if Redis crashes')
    router.subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => router.fromRedis(message.toString()))
    await router.subscriber.subscribe(router.keys.inbox(router.processId))
    router.subscriber.on('ready', () => void router.listenAgain())
    await router.redis.set(router.keys.gateway(router.processId), '1', 'PX', GATEWAY_TTL_MS)
    router.timers.push(setInterval(() => void router.owned.renewLeases(), RENEW_MS), setInterval(() => void router.watch(), WATCH_MS))
    for (const timer of router.timers) timer.unref()
    parts.logger.info({ process: router.processId, prefix: router.keys.prefix }, 'scaled mode: partitions leased in Redis')
    return router
  }

  // ---- Gateway: frames from this process's sockets ----

  receive(conn: ConnId, raw: unknown): void {
    // Too deep to encode for Redis (a recursive encoder would overflow): answered here, as one relay answers it.
    if (!checkShape(raw, MAX_FRAME_DEPTH).ok) return this.parts.lobby.receive(conn, raw)
    const login = loginNamed(raw)
    let binding = this.bound.get(conn)
    // A connection that never logged in may try another app: it moves there.
    if (binding && login && !binding.identity && partitionOfApp(login.appId) !== binding.partition) {
      this.unbind(conn, binding)
      binding = undefined
    }
    if (!binding) {
      if (!login) return this.parts.lobby.receive(conn, raw) // NOT_LOGIN, INVALID_PARAMETER…, as one relay answers
      binding = this.bind(conn, partitionOfApp(login.appId))
    }
    if (login && !binding.identity) binding.login = login
    this.route({ k: 'f', p: binding.partition, g: this.processId, c: conn, f: raw })
  }

  receiveCall(conn: ConnId, raw: unknown, identity: CallIdentity): void {
    const binding = this.bound.get(conn) ?? this.bind(conn, partitionOfApp(identity.appId), signedIn(identity))
    if (!checkShape(raw, MAX_FRAME_DEPTH).ok) return this.parts.lobby.receiveCall(conn, raw, identity) // answered here (see receive)
    this.route({ k: 'c', p: binding.partition, g: this.processId, c: conn, f: raw, i: identity })
  }

  receiveRoom(conn: ConnId, raw: unknown, identity: RoomIdentity): void {
    const binding = this.bound.get(conn) ?? this.bind(conn, partitionOfApp(identity.appId), signedIn(identity))
    if (!checkShape(raw, MAX_FRAME_DEPTH).ok) return this.parts.lobby.receiveRoom(conn, raw, identity) // answered here (see receive)
    this.route({ k: 'r', p: binding.partition, g: this.processId, c: conn, f: raw, i: identity as CallIdentity })
  }

  disconnected(conn: ConnId): void {
    this.parts.lobby.disconnected(conn)
    const binding = this.bound.get(conn)
    if (binding) this.unbind(conn, binding)
  }

  userOf(conn: ConnId): { appId: string; userId: string } | null {
    return this.bound.get(conn)?.identity ?? null
  }

  get connectedSessions(): number {
    let count = 0
    for (const binding of this.bound.values()) if (binding.identity) count++
    return count
  }

  get ownedPartitions(): string[] {
    return this.owned.partitions
  }

  tick(): void {
    this.owned.tick()
  }

  async settled(): Promise<void> {
    await this.owned.settled()
  }

  /** Hands owned partitions over (settled, then released, so another process takes them at once) and leaves Redis. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer)
    await this.owned.close()
    await this.redis.del(this.keys.gateway(this.processId)).catch(() => undefined)
    this.subscriber.disconnect()
    this.redis.disconnect()
  }

  private bind(conn: ConnId, partition: string, identity: Binding['identity'] = null): Binding {
    const binding: Binding = { partition, login: null, identity }
    this.bound.set(conn, binding)
    let conns = this.byPartition.get(partition)
    if (!conns) this.byPartition.set(partition, (conns = new Set()))
    conns.add(conn)
    return binding
  }

  private unbind(conn: ConnId, binding: Binding): void {
    this.bound.delete(conn)
    const conns = this.byPartition.get(binding.partition)
    conns?.delete(conn)
    if (conns?.size === 0) this.byPartition.delete(binding.partition)
    this.route({ k: 'd', p: binding.partition, g: this.processId, c: conn })
  }

  /** To the partition's owner: known → now; unknown → after finding (or becoming) it, in order. */
  private route(message: Inbound): void {
    const queue = this.resolving.get(message.p)
    if (queue) return void queue.push(message)
    const owner = this.ownerLeases.get(message.p)
    if (owner !== undefined) return this.sendToOwner(ownerOfLease(owner), message)
    if (message.k === 'd') return // nobody owns it: nobody holds the connection
    this.resolving.set(message.p, [message])
    void this.resolveOwner(message.p)
  }

  private async resolveOwner(partition: string): Promise<void> {
    try {
      let { taken, holder } = await this.leases.acquire(partition)
      if (!taken && ownerOfLease(holder) === this.processId && this.owned.leaseOf(partition)?.value !== holder) {
        // Ours in Redis, yet no host here serves it: a host stepped down while Redis was away and
        // could not release it. A new host must not serve under it: it would share the old one's
        // fencing token, and gateways, seeing the same lease, would keep sessions the new host
        // does not know. Released, and a new lease taken (the gateways see it change).
        await this.leases.release(leaseOf(partition, holder))
        ;({ taken, holder } = await this.leases.acquire(partition))
      }
      // A lease of ours that is no longer the one in Redis (it ran out while Redis was away): its host must not serve on.
      this.owned.stepDownUnless(partition, holder)
      // Otherwise still ours (this gateway forgot the owner, e.g. after Redis was away): the host serves on.
      if (taken) await this.owned.own(taken)
      this.ownerLeases.set(partition, holder)
      const queued = this.resolving.get(partition) ?? []
      this.resolving.delete(partition)
      for (const message of queued) this.sendToOwner(ownerOfLease(holder), message)
    } catch (error) {
      this.parts.logger.warn({ err: error, partition }, 'cannot find or take the owner of a partition (Redis away?); refusing its frames')
      const queued = this.resolving.get(partition) ?? []
      this.resolving.delete(partition)
      for (const message of queued) this.refuse(message)
    }
  }

  /** Redis is away: a request is answered STORAGE_OPERATION_FAILED (seed 000's -12001), a raw socket is closed to reconnect later. */
  private refuse(message: Inbound): void {
    if (message.k === 'd') return
    const frame = message.f as { id?: unknown; op?: unknown } | null
    if (message.k === 'f' && typeof frame?.id === 'number') {
      const op = typeof frame.op === 'string' ? frame.op.slice(0, 64) : 'unknown'
      const error = rtmError('STORAGE_OPERATION_FAILED', op, 'the cluster store (Redis) cannot be reached; try again shortly')
      return this.parts.localSink.send([message.c], { t: 'res', id: frame.id, ok: false, error })
    }
    if (message.k !== 'f') this.parts.localSink.close(message.c, 'the cluster store (Redis) cannot be reached')
  }

  private sendToOwner(owner: string, message: Inbound): void {
    if (owner === this.processId) return this.owned.receive(message)
    this.publish(owner, encodeClusterMessage(message), {
      // Redis away: refused now rather than left unanswered until the client's timeout.
      lost: () => this.refuse(message),
      unheard: () => { if (message.k !== 'd') this.ownerUnheard(message.p, owner) },
    })
  }

  private publish(processId: string, text: string, on?: { lost(): void; unheard(): void }): void {
    this.redis.publish(this.keys.inbox(processId), text).then((receivers) => {
      if (receivers > 0) return
      this.parts.logger.debug({ to: processId }, 'a cluster message had no listener')
      on?.unheard()
    }, (error: unknown) => {
      this.parts.logger.warn({ err: error, to: processId }, 'a cluster message was lost (Redis away?)')
      on?.lost()
    })
  }

  /**
   * Nobody heard a frame for `owner`: it died (its lease runs out within LEASE_MS) or is between
   * two subscriptions (see listenAgain). The partition's connections here reconnect; their
   * clients resume at whoever owns it then and resend what is unanswered. Refusing instead
   * would fail every request for as long as a dead owner's lease lives.
   */
  private ownerUnheard(partition: string, owner: string): void {
    const known = this.ownerLeases.get(partition)
    if (known !== undefined && ownerOfLease(known) === owner) this.moved(partition)
  }

  /**
   * The subscriber connection is back after a break (Redis restarted, the link dropped):
   * subscribe again, then close this gateway's connections, since replies and events sent to
   * it meanwhile were lost. Its clients reconnect, resume and resend what is unanswered.
   */
  private async listenAgain(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.keys.inbox(this.processId))
    } catch (error) {
      // Not subscribed: reconnect, and the next 'ready' tries again.
      this.parts.logger.warn({ err: error }, 'cannot subscribe to this process\'s inbox again; reconnecting to Redis')
      if (this.subscriber.status === 'ready') this.subscriber.disconnect(true)
      return
    }
    this.parts.logger.warn('subscribed again after a break in the link to Redis; connections to other processes\' partitions reconnect, in case messages for them were lost')
    // A partition owned here reaches its sockets in memory: nothing of theirs went through the inbox.
    for (const partition of [...this.byPartition.keys()]) if (!this.owned.leaseOf(partition)) this.moved(partition)
  }

  /** Frames for this process's sockets, from an owner (here or elsewhere). */
  private deliverHere(to: ConnId[], frame: ServerFrame): void {
    if (frame.t === 'res' && to.length === 1) frame = this.noteLoginOutcome(to[0], frame)
    this.parts.localSink.send(to, frame)
  }

  /** A gateway learns a login's outcome from its reply; a successful one says which processes serve it. */
  private noteLoginOutcome(conn: ConnId, frame: Extract<ServerFrame, { t: 'res' }>): ServerFrame {
    const binding = this.bound.get(conn)
    if (!binding?.login || binding.login.id !== frame.id) return frame
    const { appId, userId } = binding.login
    binding.login = null
    if (!frame.ok) return frame
    binding.identity = { appId, userId }
    const owner = this.ownerLeases.get(binding.partition)
    return { ...frame, result: { ...frame.result, servedBy: { gateway: this.processId, owner: owner ? ownerOfLease(owner) : this.processId } } }
  }

  /** Every WATCH_MS: say this gateway is alive, and close connections whose partition changed hands. */
  private async watch(): Promise<void> {
    const partitions = [...this.byPartition.keys()]
    let holders: (string | null)[]
    try {
      await this.redis.set(this.keys.gateway(this.processId), '1', 'PX', GATEWAY_TTL_MS)
      holders = await this.leases.holders(partitions)
      this.redisAwaySince = null
      // Owners are remembered for the partitions of this gateway's connections only.
      for (const partition of this.ownerLeases.keys()) if (!this.byPartition.has(partition) && !this.resolving.has(partition)) this.ownerLeases.delete(partition)
    } catch {
      // Redis is away: owners cannot commit nor reach gateways. Past a lease, every client
      // reconnects (and is refused cleanly until Redis is back) rather than wait unanswered.
      this.redisAwaySince ??= Date.now()
      if (Date.now() - this.redisAwaySince > this.leaseMs) for (const partition of partitions) this.moved(partition)
      return
    }
    partitions.forEach((partition, index) => {
      const known = this.ownerLeases.get(partition)
      if (known !== undefined && holders[index] !== known) this.moved(partition)
    })
    await this.owned.endConnectionsOfDeadGateways().catch(() => undefined)
  }

  /** The partition changed hands (or is gone): its connections here reconnect and resume at the new owner. */
  private moved(partition: string): void {
    this.ownerLeases.delete(partition)
    for (const conn of this.byPartition.get(partition) ?? []) this.parts.localSink.close(conn, 'its app moved to another relay process; reconnect')
  }

  /**
   * An owner says it no longer owns the partition. Only news if it is the owner this gateway
   * knows: a stale one (paused past its lease) says so after its successor took over, and the
   * successor may be this very process.
   */
  private movedFrom(partition: string, former: string): void {
    const known = this.ownerLeases.get(partition)
    if (known !== undefined && ownerOfLease(known) === former) this.moved(partition)
  }

  /**
   * What one owner step sends a gateway leaves as one Redis message, in order: a reply and
   * the events behind it reach the socket together, as from one relay, and a fan-out of
   * many events costs one publish per gateway.
   */
  private toGateway(gateway: string, message: string): void {
    let outbox = this.outboxes.get(gateway)
    if (!outbox) this.outboxes.set(gateway, (outbox = []))
    outbox.push(message)
    if (this.outboxFlushQueued) return
    this.outboxFlushQueued = true
    queueMicrotask(() => {
      this.outboxFlushQueued = false
      for (const [to, messages] of this.outboxes) this.publish(to, messages.length === 1 ? messages[0] : `{"k":"b","m":[${messages.join(',')}]}`)
      this.outboxes.clear()
    })
  }

  private fromRedis(text: string): void {
    try {
      const decoded = decodeClusterMessage(text)
      for (const message of decoded.k === 'b' ? decoded.m : [decoded]) this.fromCluster(message)
    } catch (error) {
      this.parts.logger.error({ err: error }, 'a cluster message could not be handled')
    }
  }

  private fromCluster(message: Inbound | Outbound): void {
    try {
      if (message.k === 'o') this.deliverHere(message.to, message.f)
      else if (message.k === 'x') this.parts.localSink.close(message.c, message.r)
      else if (message.k === 'm') this.movedFrom(message.p, message.g)
      else if (message.k !== 'b') this.owned.receive(message)
    } catch (error) {
      // One message's failure (a bug) costs that message only, not the rest of its batch.
      this.parts.logger.error({ err: error }, 'a cluster message could not be handled')
    }
  }
}

/** The app a login frame names, when it is a login with a valid appId (anything else is the lobby's to answer). */
function loginNamed(raw: unknown): { id: number; appId: string; userId: string } | null {
  const frame = raw as { op?: unknown; id?: unknown; args?: { appId?: unknown; userId?: unknown } } | null
  if (frame?.op !== 'login' || typeof frame.id !== 'number') return null
  const appId = frame.args?.appId
  const userId = frame.args?.userId
  if (typeof appId !== 'string' || !isValidName(appId)) return null
  return { id: frame.id, appId, userId: typeof userId === 'string' ? userId : '' }
}

/** A raw socket's upgrade identity, when it names a user. */
function signedIn({ appId, userId }: { appId: string; userId: string | null }): Binding['identity'] {
  return userId === null ? null : { appId, userId }
}
