/** Waiters for future items (messages, events): each item goes to every waiter it matches. */
export class Mailbox<T> {
  #waiters: { match(item: T): boolean; resolve(item: T | null): void; timer: NodeJS.Timeout }[] = []

  offer(item: T): void {
    if (this.#waiters.length === 0) return
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.match(item)) return true
      clearTimeout(waiter.timer)
      waiter.resolve(item)
      return false
    })
  }

  wait(match: (item: T) => boolean, timeoutMs: number): Promise<T | null> {
    return new Promise((resolve) => {
      const waiter = {
        match, resolve,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
          resolve(null)
        }, timeoutMs),
      }
      this.#waiters.push(waiter)
    })
  }

  /** Every waiter gets null now (the source closed). */
  cancel(): void {
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer)
      waiter.resolve(null)
    }
  }
}
