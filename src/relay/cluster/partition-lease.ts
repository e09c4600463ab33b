import type { Redis } from 'ioredis'
import type { ClusterKeys } from './redis-keys'

/** How long a lease lives without renewal: an owner that died is replaced after at most this. */
export const LEASE_MS = 2_000
/** Owners renew this often, so a lease survives two missed renewals (a GC pause, a busy loop). */
export const RENEW_MS = 500

/**
 * Takes the lease when nobody holds it (`SET NX PX`), with the next fencing token; answers
 * the holder's `<process> <token>` either way, and 1 when it was taken now.
 */
const ACQUIRE = `
local held = redis.call('GET', KEYS[1])
if held then return {held, 0} end
local value = ARGV[1] .. ' ' .. redis.call('INCR', KEYS[2])
if redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[2]) then return {value, 1} end
return {redis.call('GET', KEYS[1]), 0}`
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

export function leaseOf(partition: string, value: string): Lease {
  return { partition, value, token: Number(value.slice(value.lastIndexOf(' ') + 1)) }
}

/** Leases of partitions in Redis, one owner per partition at a time (no Redlock: one Redis is the authority). */
export class PartitionLeases {
  constructor(private readonly redis: Redis, private readonly keys: ClusterKeys, private readonly processId: string, private readonly leaseMs = LEASE_MS) {}

  /**
   * `taken`: the lease, when it was free and is ours now. `holder`: whoever holds it now
   * (`<process> <token>`), which may be this process under a lease taken before.
   */
  async acquire(partition: string): Promise<{ taken: Lease | null; holder: string }> {
    const [holder, isNew] = await this.redis.eval(ACQUIRE, 2, this.keys.lease(partition), this.keys.fence(partition), this.processId, this.leaseMs) as [string, number]
    return { taken: isNew === 1 ? leaseOf(partition, holder) : null, holder }
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
