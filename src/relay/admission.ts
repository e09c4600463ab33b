/**
 * Who may hold a connection to the relay: a bounded number per client address, and only
 * while they log in within a deadline. Without these, one address can open thousands of
 * idle sockets and hold the relay's memory and file descriptors.
 */

/** Open connections (socket.io, /ws/calls, /peerjs) per client address; MAX_CONNECTIONS_PER_ADDRESS overrides. */
export const MAX_CONNECTIONS_PER_ADDRESS = 200
/** A connection that has not logged in (or authenticated, or registered) by then is closed. */
export const LOGIN_DEADLINE_MS = 10_000

interface Pending { deadline: number; loggedIn: () => boolean; close: () => void }

export class Admission {
  private readonly perAddress = new Map<string, number>()
  private readonly pending = new Map<string, Pending>()

  constructor(private readonly options: { maxPerAddress: number; loginDeadlineMs: number; now: () => number }) {}

  /** Whether `address` may open one more connection (0 = no limit). */
  hasRoom(address: string): boolean {
    return this.options.maxPerAddress <= 0 || (this.perAddress.get(address) ?? 0) < this.options.maxPerAddress
  }

  /** Counts a connection from `address` until `release` is called once for it. */
  opened(address: string): () => void {
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.perAddress.get(address) ?? 1) - 1
      if (left > 0) this.perAddress.set(address, left)
      else this.perAddress.delete(address)
    }
  }

  /** `close` runs at the deadline unless `loggedIn()` says the connection made it (checked by `sweep`). */
  expectLogin(key: string, loggedIn: () => boolean, close: () => void): void {
    this.pending.set(key, { deadline: this.options.now() + this.options.loginDeadlineMs, loggedIn, close })
  }

  forget(key: string): void {
    this.pending.delete(key)
  }

  /** Runs on the relay's tick. */
  sweep(): void {
    const now = this.options.now()
    for (const [key, entry] of this.pending) {
      if (entry.loggedIn()) this.pending.delete(key)
      else if (now >= entry.deadline) {
        this.pending.delete(key)
        entry.close()
      }
    }
  }
}
