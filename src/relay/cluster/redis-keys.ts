import { Redis, type RedisOptions } from 'ioredis'

/**
 * Where scaled mode keeps things in Redis, all under one prefix (REDIS_PREFIX, default
 * `sk:`) so several deployments (or test clusters) can share one server.
 */
export class ClusterKeys {
  constructor(readonly prefix: string) {}
  /** `<process id> <fencing token>` of the partition's owner, with a TTL (the lease). */
  lease(partition: string): string { return `${this.prefix}lease:${partition}` }
  /** The partition's fencing counter: each new lease takes the next token. */
  fence(partition: string): string { return `${this.prefix}fence:${partition}` }
  /** The partition's durable entries: one hash field per engine key, JSON values. */
  data(partition: string): string { return `${this.prefix}data:${partition}` }
  /** Present while the gateway process is alive (its own TTL, renewed with its leases). */
  gateway(processId: string): string { return `${this.prefix}gw:${processId}` }
  /** The pub/sub channel a process reads: frames for partitions it owns, events for its sockets. */
  inbox(processId: string): string { return `${this.prefix}to:${processId}` }
}

/** A partition per app: its RTM state, its seed-002 sIds and its seed-003 rooms (all keyed by app in the engine). */
export function partitionOfApp(appId: string): string {
  return `app/${encodeURIComponent(appId)}`
}

/** Redis commands fail fast while the server is away (no offline queue): a commit must not wait unseen. */
export const COMMAND_TIMEOUT_MS = 2_000

export function redisClient(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    // Keep trying while Redis is away, at most every second.
    retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
    lazyConnect: true,
    ...options,
  })
}
