import type { Write } from '../src/engine/effects'
import type { DurableStore } from '../src/host/ports'

/**
 * A real store (the relay's SQLite) whose next commit the test can hold: the commit either
 * lands on disk first (`durable`: the ack is what gets lost) or never does and then fails as
 * a full disk would (`disk-full`). `reached` resolves when the commit is held; `release` lets
 * it finish.
 */
export class HeldCommitStore implements DurableStore {
  private hold: { outcome: 'durable' | 'disk-full'; reached: () => void; released: Promise<void> } | null = null

  constructor(private readonly disk: DurableStore) {}

  holdNextCommit(outcome: 'durable' | 'disk-full'): { reached: Promise<void>; release: () => void } {
    let reached!: () => void
    let release!: () => void
    const reachedPromise = new Promise<void>((resolve) => { reached = resolve })
    this.hold = { outcome, reached, released: new Promise<void>((resolve) => { release = resolve }) }
    return { reached: reachedPromise, release }
  }

  load(): Promise<Write[]> {
    return this.disk.load()
  }

  async commit(writes: Write[]): Promise<void> {
    const hold = this.hold
    this.hold = null
    if (!hold) return this.disk.commit(writes)
    if (hold.outcome === 'durable') await this.disk.commit(writes)
    hold.reached()
    await hold.released
    if (hold.outcome === 'disk-full') throw new Error('SQLITE_FULL: database or disk is full')
  }

  close(): Promise<void> {
    return this.disk.close()
  }
}
