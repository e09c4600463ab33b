import type { Redis } from 'ioredis'
import type { ClusterKeys } from './redis-keys'

/** How long a lease lives without renewal: an owner that died is replaced after at most this. */
export const LEASE_MS = 2_000
/** Owners renew this often, so a lease survives two missed renewals (a GC pause, a busy loop). */
export const RENEW_MS = 500

/**
 * Takes the lease when nobody holds it (`SET NX PX`), with the next fencing token; answers
 * the holder's `<process> <token>` either way.
 */
const ACQUIRE = `
local held = redis.call('GET', KEYS[1])
if held then return held end
local value = ARGV[1] .. ' ' .. redis.call('INCR', KEYS[2])
if redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[2]) then return value end
return redis.call('GET', KEYS[1])`
/** Extends the lease only if it is still ours (compare-and-renew). */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`
/** Gives the lease up only if it is still ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/** A held lease: `value` is `<process id> <fencing token>`, what every commit is checked against. */
export interface Lease { partition: string; value: string; token: number }

export function ownerOfLease(value: string): string {
  return value.slice(0, value.lastIndexOf(' '))
}

/** Leases of partitions in Redis, one owner per partition at a time (no Redlock: one Redis is the authority). */
export class PartitionLeases {
  constructor(private readonly redis: Redis, private readonly keys: ClusterKeys, private readonly processId: string, private readonly leaseMs = LEASE_MS) {}

  /** Ours when free; otherwise the current holder's value (`<process> <token>`). */
  async acquire(partition: string): Promise<{ mine: Lease | null; holder: string }> {
    const holder = await this.redis.eval(ACQUIRE, 2, this.keys.lease(partition), this.keys.fence(partition), this.processId, this.leaseMs) as string
    const mine = ownerOfLease(holder) === this.processId ? { partition, value: holder, token: Number(holder.slice(holder.lastIndexOf(' ') + 1)) } : null
    return { mine, holder }
  }

  /** False when the lease is no longer ours (expired, taken): the owner must step down. */
  async renew(lease: Lease): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.keys.lease(lease.partition), lease.value, this.leaseMs)) === 1
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys.lease(lease.partition), lease.value)
  }

  /** The holders of these partitions' leases now (null: nobody). */
  async holders(partitions: string[]): Promise<(string | null)[]> {
    if (partitions.length === 0) return []
    return this.redis.mget(partitions.map((partition) => this.keys.lease(partition)))
  }
}
