import { readFileSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { Redis } from 'ioredis'
import { startBalancer, startRedis, type Balancer, type RedisProcess } from '../../src/relay/cluster/local-processes'
import { RelayChild } from './relay-child'

/** USER_HZ of /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_SECOND = 100

/**
 * The bench relays measure capacity: every client comes from one loopback address (HAProxy's,
 * no TRUST_PROXY) and one publisher floods, as in bench/lib/servers.ts.
 */
const CAPACITY_ENV = { REQUEST_RATE: '1000000/1000000', PUBLISH_RATE: '1000000/1000000', MAX_CONNECTIONS_PER_ADDRESS: '0' }

/** The relays' LOG_LEVEL (BENCH_CLUSTER_LOG_LEVEL): info shows partitions taken and given up and gateways declared gone, all rare. */
const RELAY_LOG_LEVEL = process.env.BENCH_CLUSTER_LOG_LEVEL ?? 'info'
/** Info lines every relay writes once at start: not events of the run. */
const STARTUP_MESSAGES = new Set(['relay listening', 'scaled mode: partitions leased in Redis'])

/** One relay process of the stack: its name in Redis (RELAY_NAME) and the child running it. */
export interface ClusterRelay { name: string; child: RelayChild }

/** /healthz of a relay in scaled mode. */
export interface ClusterHealth { process: string; partitions: string[]; sessions: number; connections: number }

/** Redis's own counters (INFO), for deltas across a phase. */
export interface RedisCounters { netInputBytes: number; netOutputBytes: number; commands: number; publishes: number }

/**
 * Redis and HAProxy children still running, killed (and their folders removed) if the bench
 * process ends without stopping them (a watchdog's exit, Ctrl-C); RelayChild does the same
 * for the relays.
 */
const live = new Set<{ kill(): void }>()
process.once('exit', () => { for (const entry of live) entry.kill() })

/** CPU time (user + system, s) of any process so far, from /proc/<pid>/stat; null once it is gone. */
export function procCpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
  } catch {
    return null
  }
}

/**
 * Scaled mode on loopback for the cluster bench: Debian's redis-server (appendfsync always),
 * `count` relay processes (src/relay/main.ts with REDIS_URL, a fresh REDIS_PREFIX) and
 * HAProxy in front of them (src/relay/cluster/local-processes.ts). Relays can be killed and
 * replaced; the balancer is restarted on its port to take the replacement in.
 */
export class ClusterStack {
  readonly relays: ClusterRelay[] = []
  #stopped: Promise<void> | null = null
  #stats: Redis | null = null
  #nextRelay = 1
  #redisGuard: { kill(): void } | null = null
  #balancerGuard: { kill(): void } | null = null

  private constructor(readonly redis: RedisProcess, readonly prefix: string, public balancer: Balancer | null) {}

  static async start(count: number, label: string): Promise<ClusterStack> {
    const redis = await startRedis()
    const guard = { kill: () => { redis.child.kill('SIGKILL'); rmSync(redis.dir, { recursive: true, force: true }) } }
    live.add(guard)
    const stack = new ClusterStack(redis, `bench-${label}-${process.pid}-${Date.now().toString(36)}:`, null)
    stack.#redisGuard = guard
    try {
      const started = await Promise.allSettled(Array.from({ length: count }, () => stack.#startRelay()))
      for (const result of started) if (result.status === 'fulfilled') stack.relays.push(result.value)
      const failed = started.find((result) => result.status === 'rejected')
      if (failed) throw failed.reason
      await stack.#startBalancer()
      stack.#stats = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      stack.#stats.on('error', () => undefined)
      await stack.#stats.connect()
      return stack
    } catch (error) {
      await stack.stop()
      throw error
    }
  }

  get url(): string {
    if (!this.balancer) throw new Error('the balancer is not running')
    return this.balancer.url
  }

  async #startRelay(): Promise<ClusterRelay> {
    const name = `r${this.#nextRelay++}`
    const child = await RelayChild.start({ logLevel: RELAY_LOG_LEVEL, env: { ...CAPACITY_ENV, REDIS_URL: this.redis.url, REDIS_PREFIX: this.prefix, RELAY_NAME: name } })
    return { name, child }
  }

  async #startBalancer(port?: number): Promise<void> {
    this.balancer = await startBalancer(this.relays.map((relay) => ({ port: relay.child.port, name: relay.name })), { port })
    const child = this.balancer.child
    const configDir = dirname(child.spawnargs[child.spawnargs.indexOf('-f') + 1])
    this.#balancerGuard = { kill: () => { child.kill('SIGKILL'); rmSync(configDir, { recursive: true, force: true }) } }
    live.add(this.#balancerGuard)
  }

  /** SIGKILL to the relay's process group: no drain, no lease released. Resolves when it is gone. */
  async kill(relay: ClusterRelay): Promise<void> {
    try {
      process.kill(-relay.child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
    await relay.child.exited
    await relay.child.stop() // removes its DATA_DIR
  }

  /** A fresh relay in `relay`'s place, and the balancer restarted on its port with it behind. */
  async replace(relay: ClusterRelay): Promise<ClusterRelay> {
    const fresh = await this.#startRelay()
    this.relays[this.relays.indexOf(relay)] = fresh
    const port = this.balancer?.port
    await this.#stopBalancer()
    await this.#startBalancer(port)
    return fresh
  }

  async #stopBalancer(): Promise<void> {
    if (this.#balancerGuard) live.delete(this.#balancerGuard)
    await this.balancer?.stop()
    this.balancer = null
  }

  /** /healthz of every relay (null for one that does not answer). */
  health(): Promise<(ClusterHealth | null)[]> {
    return Promise.all(this.relays.map(async (relay) => (await relay.child.health()) as unknown as ClusterHealth | null))
  }

  /**
   * What the relays logged at info level and above, by message (and reason, when the line
   * has one), from the last lines each one wrote: partitions taken and given up, gateways
   * declared gone, connections closed. Start-up lines are left out. Only the last 8,000
   * characters of each relay's output are kept (RelayChild.tail): after a flood of closes,
   * what caused it may be gone, the closes say enough.
   */
  events(): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const relay of this.relays) {
      for (const line of relay.child.tail.split('\n')) {
        const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0)
        const message = /"msg":"([^"]*)"/.exec(line)?.[1]
        if (level < 30 || !message || STARTUP_MESSAGES.has(message)) continue
        const reason = /"reason":"([^"]*)"/.exec(line)?.[1]
        const key = reason ? `${message} (${reason})` : message
        counts[key] = (counts[key] ?? 0) + 1
      }
    }
    return counts
  }

  /** Sum of the relays' CPU seconds so far. */
  relayCpuSeconds(): number {
    return this.relays.reduce((sum, relay) => sum + (relay.child.cpuSeconds() ?? 0), 0)
  }

  redisCpuSeconds(): number {
    return procCpuSeconds(this.redis.child.pid) ?? NaN
  }

  balancerCpuSeconds(): number {
    return procCpuSeconds(this.balancer?.child.pid) ?? NaN
  }

  async redisCounters(): Promise<RedisCounters> {
    const text = `${await this.#stats!.info('stats')}\n${await this.#stats!.info('commandstats')}`
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN)
    return {
      netInputBytes: field('total_net_input_bytes'),
      netOutputBytes: field('total_net_output_bytes'),
      commands: field('total_commands_processed'),
      publishes: Number(/^cmdstat_publish:calls=(\d+)/m.exec(text)?.[1] ?? 0),
    }
  }

  /** Milliseconds left on a key (a lease), -2 when it is gone. */
  leaseTtl(key: string): Promise<number> {
    return this.#stats!.pttl(key)
  }

  /** Stops the balancer, every relay and Redis (its folder removed). Safe to call twice. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#stats?.disconnect()
    await this.#stopBalancer().catch(() => undefined)
    await Promise.allSettled(this.relays.map((relay) => relay.child.stop()))
    await this.redis.destroy()
    if (this.#redisGuard) live.delete(this.#redisGuard)
  }
}
