import { KEYFRAME_REQUEST_INTERVAL_MS } from '../../protocol/sfu'

/**
 * Keyframe requests to one publisher's layers, at most one per layer per interval (the
 * subscribe, layer-switch and viewer asks together: protocol/sfu.ts). An ask inside the
 * interval is not lost: it is kept and comes out of `due` once the interval has passed.
 */
export class KeyframeLimiter<K> {
  readonly #intervalMs: number
  readonly #lastSent = new Map<K, number>()
  readonly #pending = new Set<K>()

  constructor(intervalMs = KEYFRAME_REQUEST_INTERVAL_MS) {
    this.#intervalMs = intervalMs
  }

  /** True: send the request now. False: one went out recently; this one waits for `due`. */
  request(key: K, nowMs: number): boolean {
    const last = this.#lastSent.get(key)
    if (last === undefined || nowMs - last >= this.#intervalMs) {
      this.#lastSent.set(key, nowMs)
      this.#pending.delete(key)
      return true
    }
    this.#pending.add(key)
    return false
  }

  /** Keys whose waiting request may go out now (each is marked sent). */
  due(nowMs: number): K[] {
    const ready: K[] = []
    for (const key of this.#pending) {
      if (nowMs - (this.#lastSent.get(key) ?? -Infinity) >= this.#intervalMs) ready.push(key)
    }
    for (const key of ready) {
      this.#pending.delete(key)
      this.#lastSent.set(key, nowMs)
    }
    return ready
  }

  forget(key: K): void {
    this.#lastSent.delete(key)
    this.#pending.delete(key)
  }
}
