/**
 * Seed 001 "lag100" / "lag150": how much of a period the picture stood still. getStats has
 * no per-frame timing, so the caller reports each frame as it arrives (e.g. from a
 * MediaStreamTrackProcessor) and reads the shares once per period.
 */

export const LAG_THRESHOLDS_MS = { lag100: 100, lag150: 150 } as const

export type Lag = { -readonly [K in keyof typeof LAG_THRESHOLDS_MS]: number }

/**
 * Measures frame gaps. A gap longer than a threshold counts whole (not only the part past
 * the threshold), clipped to the period it falls in; a gap still open when `period` is
 * read counts up to that moment if it is already longer than the threshold, and its rest
 * goes to the next period. Times are ms on any one clock; nothing here reads a clock.
 *
 * @example
 * const meter = new FreezeMeter()
 * meter.frame(performance.now())          // for each frame
 * meter.period(performance.now())         // every 2 s: { lag100: 0.12, lag150: 0.05 }
 */
export class FreezeMeter {
  private lastFrame: number | null = null
  private periodStart: number | null = null
  private frozen: Lag = { lag100: 0, lag150: 0 }

  frame(atMs: number): void {
    if (this.lastFrame !== null && atMs < this.lastFrame) return // out of order: already covered
    if (this.lastFrame !== null) this.addGap(this.lastFrame, atMs)
    this.periodStart ??= atMs // the first period begins with the first frame
    this.lastFrame = atMs
  }

  /**
   * Share (0–1) of the time since the previous call (or the first frame) spent in gaps
   * above 100 ms and 150 ms. Before any frame: 0 (nothing played, so nothing froze).
   */
  period(nowMs: number): Lag {
    if (this.lastFrame !== null) this.addGap(this.lastFrame, nowMs)
    const span = this.periodStart === null ? 0 : nowMs - this.periodStart
    const share = (ms: number) => (span > 0 ? Math.min(1, ms / span) : 0)
    const lag = { lag100: share(this.frozen.lag100), lag150: share(this.frozen.lag150) }
    this.frozen = { lag100: 0, lag150: 0 }
    if (this.periodStart !== null) this.periodStart = nowMs
    return lag
  }

  /** Adds the part of the gap from `from` to `to` inside this period, for each threshold it exceeds. */
  private addGap(from: number, to: number): void {
    const counted = to - Math.max(from, this.periodStart ?? from)
    if (counted <= 0) return
    for (const key of Object.keys(LAG_THRESHOLDS_MS) as (keyof Lag)[]) {
      if (to - from > LAG_THRESHOLDS_MS[key]) this.frozen[key] += counted
    }
  }
}
