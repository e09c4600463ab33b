import type { Write } from '../engine/effects'
import type { Envelope } from '../protocol/peer-envelope'
import type { DurableStore } from './ports'

/** A follower that does not confirm a replicated commit within this time is dropped as a replica. */
export const REPLICA_ACK_MS = 2000

/** A follower browser holding a copy of the coordinator's durable state. */
export interface Replica {
  /** The follower's peer id (envelope `to`). */
  peer: string
  post(envelope: Envelope): void
  /** Called when the replica stops confirming: the coordinator closes its link. */
  drop(reason: string): void
}

/**
 * The mesh coordinator's store: commits locally (IndexedDB, strict) and to every follower
 * browser before the host acknowledges, so whichever browser takes over next already
 * holds every acknowledged write. New followers first get a full snapshot.
 */
export class ReplicatingStore implements DurableStore {
  private readonly mirror = new Map<string, unknown>()
  private readonly replicas = new Set<Replica>()
  private readonly waiting = new Map<Replica, Map<number, () => void>>()
  private seq = 0

  constructor(private readonly local: DurableStore, private readonly self: string) {}

  async load(): Promise<Write[]> {
    const entries = await this.local.load()
    for (const { key, value } of entries) this.mirror.set(key, value)
    return entries
  }

  async commit(writes: Write[]): Promise<void> {
    await this.local.commit(writes)
    for (const { key, value } of writes) {
      if (value === null) this.mirror.delete(key)
      else this.mirror.set(key, value)
    }
    const seq = ++this.seq
    await Promise.all([...this.replicas].map((replica) => this.send(replica, seq, writes)))
  }

  /** Adds a follower: resolves once it holds the full state (or was dropped). */
  async addReplica(replica: Replica): Promise<void> {
    const snapshot = [...this.mirror].map(([key, value]) => ({ key, value }))
    this.replicas.add(replica)
    await this.send(replica, 0, snapshot)
  }

  removeReplica(replica: Replica): void {
    this.replicas.delete(replica)
    for (const resolve of this.waiting.get(replica)?.values() ?? []) resolve()
    this.waiting.delete(replica)
  }

  /** A follower confirmed replicated commit `seq`. */
  confirmed(replica: Replica, seq: number): void {
    this.waiting.get(replica)?.get(seq)?.()
  }

  async close(): Promise<void> {
    for (const waits of this.waiting.values()) for (const resolve of waits.values()) resolve()
    this.replicas.clear()
    await this.local.close()
  }

  private send(replica: Replica, seq: number, writes: Write[]): Promise<void> {
    const waits = this.waiting.get(replica) ?? new Map<number, () => void>()
    this.waiting.set(replica, waits)
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.removeReplica(replica)
        replica.drop('the replica did not confirm a write in time')
      }, REPLICA_ACK_MS)
      waits.set(seq, () => {
        clearTimeout(timer)
        waits.delete(seq)
        resolve()
      })
      replica.post({ kind: 'replicate', from: this.self, to: replica.peer, seq, writes })
    })
  }
}
