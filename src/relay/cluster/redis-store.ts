import type { Redis } from 'ioredis'
import type { Write } from '../../engine/effects'
import type { DurableStore } from '../../host/ports'
import type { Lease } from './partition-lease'
import type { ClusterKeys } from './redis-keys'

/**
 * Applies a commit only while the lease is still the committer's (the fencing check), in
 * one script so nothing can slip between the check and the writes. ARGV: the lease value,
 * then per write `s key json` or `d key`.
 */
const FENCED_COMMIT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local i = 2
while i <= #ARGV do
  if ARGV[i] == 'd' then
    redis.call('HDEL', KEYS[2], ARGV[i + 1])
    i = i + 2
  else
    redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  end
end
return 1`

/** A commit refused because another process holds the partition now: this owner must step down. */
export class FencedOut extends Error {
  constructor(readonly partition: string) {
    super(`the lease on ${partition} is no longer ours; another process owns it`)
    this.name = 'FencedOut'
  }
}

/**
 * One partition's durable entries in Redis (a hash), written only under its lease. Redis
 * runs with `appendfsync always`: it fsyncs its append-only file before answering, so a
 * commit that resolved survives a Redis crash, as SQLite's FULL sync does on one relay.
 */
export class RedisPartitionStore implements DurableStore {
  constructor(private readonly redis: Redis, private readonly keys: ClusterKeys, private readonly lease: Lease) {}

  async load(): Promise<Write[]> {
    const entries = await this.redis.hgetall(this.keys.data(this.lease.partition))
    return Object.entries(entries).map(([key, value]) => ({ key, value: JSON.parse(value) as unknown }))
  }

  async commit(writes: Write[]): Promise<void> {
    if (writes.length === 0) return
    const args: string[] = [this.lease.value]
    for (const { key, value } of writes) {
      if (value === null) args.push('d', key)
      else args.push('s', key, JSON.stringify(value))
    }
    const applied = await this.redis.eval(FENCED_COMMIT, 2, this.keys.lease(this.lease.partition), this.keys.data(this.lease.partition), ...args)
    if (applied !== 1) throw new FencedOut(this.lease.partition)
  }

  /** The connection is the cluster's, shared by every partition: nothing to close here. */
  async close(): Promise<void> {}
}
