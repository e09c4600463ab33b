/**
 * Smoothed audio activity per publisher from the ssrc-audio-level header (RFC 6464: level
 * 0…127 is −dBov, 0 the loudest). Pure: packets and time come in.
 */

/** Weight of one packet (~20 ms of audio): a time constant of about 300 ms. */
export const LEVEL_SMOOTHING = 0.065
/** Smoothed activity (127 − dBov) at or above which a publisher counts as speaking: about −50 dBov. */
export const SPEAKING_ACTIVITY = 77
/** No packet for this long: silent (muted, or its connection went away). */
export const LEVEL_STALE_MS = 1000

interface Level { activity: number; lastAt: number; spokeAt: number }

export class AudioLevels {
  readonly #levels = new Map<string, Level>()

  /** One audio packet of `id` with its header's level (undefined: no header; counted as silence). */
  add(id: string, level: number | undefined, nowMs: number): void {
    const activity = level === undefined ? 0 : 127 - Math.min(127, Math.max(0, level))
    const entry = this.#levels.get(id)
    if (!entry) {
      this.#levels.set(id, { activity: activity * LEVEL_SMOOTHING, lastAt: nowMs, spokeAt: -Infinity })
      return
    }
    entry.activity += (activity - entry.activity) * LEVEL_SMOOTHING
    entry.lastAt = nowMs
    if (entry.activity >= SPEAKING_ACTIVITY) entry.spokeAt = nowMs
  }

  activity(id: string, nowMs: number): number {
    const entry = this.#levels.get(id)
    return entry && nowMs - entry.lastAt < LEVEL_STALE_MS ? entry.activity : 0
  }

  /** When `id` was last speaking; -Infinity if never. */
  spokeAt(id: string): number {
    return this.#levels.get(id)?.spokeAt ?? -Infinity
  }

  remove(id: string): void {
    this.#levels.delete(id)
  }

  get size(): number {
    return this.#levels.size
  }
}
