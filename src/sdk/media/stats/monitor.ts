import type { Lag } from './freeze'
import { watchFrameGaps, type FrameGapWatch } from './frame-gaps'
import { InboundStats, snapshotOf } from './inbound'
import { OutboundStats, type SendPeriod } from './outbound'
import { connectionQuality } from './quality'
import { HISTORY_MS } from './diagnosis'
import type { StatsSample } from './types'

/** Seed 001's collection period. */
export const DEFAULT_STATS_INTERVAL_MS = 2_000

export interface StatsMonitorOptions {
  /** ms between two readings (`statsIntervalMs`). */
  intervalMs: number
  /** The id the stats name as their source (`srcUserId`): the call's peer, the room member. */
  source: string
  /** The sessionId a sample names: the call's, or the room session the media comes from. */
  sessionId: string
  /** Each reading with at least one inbound track. */
  sample?(sample: StatsSample): void
}

/**
 * Reads one peer connection's getStats() every `intervalMs` while it is connected: the
 * seed's WebRTCStats for every inbound track (with frame gaps measured on the decoded
 * frames, where the browser can hand them to us), and our send side. The last HISTORY_MS
 * of both stay for a diagnosis.
 */
export class StatsMonitor {
  readonly samples: StatsSample[] = []
  readonly sendPeriods: SendPeriod[] = []
  private readonly inbound: InboundStats
  private readonly outbound = new OutboundStats()
  private readonly frames = new Map<string, FrameGapWatch>()
  private timer: ReturnType<typeof setInterval> | undefined
  private reading = false
  private closed = false
  private readonly onState = () => this.schedule()
  private readonly onTrack = ({ track }: RTCTrackEvent) => this.watchFrames(track)

  constructor(private readonly pc: RTCPeerConnection, private readonly options: StatsMonitorOptions) {
    this.inbound = new InboundStats({ srcUserId: options.source })
    pc.addEventListener('connectionstatechange', this.onState)
    pc.addEventListener('track', this.onTrack)
  }

  /** One reading: the timer's work. */
  private async read(): Promise<void> {
    if (this.reading || this.closed) return
    this.reading = true
    try {
      const [report, lag] = await Promise.all([this.pc.getStats(), this.framePeriods()])
      const snapshot = snapshotOf(report)
      if (this.closed) return
      const now = snapshot.at
      const stats = this.inbound.update(snapshot, lag)
      const period = this.outbound.update(snapshot)
      if (period) keepRecent(this.sendPeriods, period, now)
      if (stats.length === 0) return
      const sample: StatsSample = { sessionId: this.options.sessionId, stats, quality: connectionQuality(stats), at: now }
      keepRecent(this.samples, sample, now)
      this.options.sample?.(sample)
    } catch {
      // A connection closing under the read: nothing to report.
    } finally {
      this.reading = false
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    this.pc.removeEventListener('connectionstatechange', this.onState)
    this.pc.removeEventListener('track', this.onTrack)
    for (const watch of this.frames.values()) watch.stop()
    this.frames.clear()
  }

  /** Readings run while media can flow (connected); a path in trouble keeps its last ones. */
  private schedule(): void {
    const connected = this.pc.connectionState === 'connected'
    if (connected && this.timer === undefined && !this.closed) this.timer = setInterval(() => void this.read(), this.options.intervalMs)
    else if (!connected && this.pc.connectionState !== 'disconnected') {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  /**
   * Frame gaps (lag100/lag150) need each decoded frame's arrival: a MediaStreamTrackProcessor
   * on a clone of the track hands them to a Worker (Chromium), which times them away from
   * the main thread's long tasks (frame-gaps.ts). Elsewhere the figures stay null.
   */
  private watchFrames(track: MediaStreamTrack): void {
    if (this.closed || this.frames.has(track.id)) return
    const watch = watchFrameGaps(track)
    if (watch) this.frames.set(track.id, watch)
  }

  /** Each watched track's period, from the worker; a track it did not answer for is left out (lag null). */
  private async framePeriods(): Promise<Map<string, Lag>> {
    const periods = await Promise.all([...this.frames].map(async ([trackId, watch]) => [trackId, await watch.period()] as const))
    return new Map(periods.filter((entry): entry is readonly [string, Lag] => entry[1] !== null))
  }
}

/** Appends and drops what is older than HISTORY_MS. */
export function keepRecent<T extends { at: number }>(list: T[], item: T, now: number): void {
  list.push(item)
  while (list.length > 0 && list[0]!.at < now - HISTORY_MS) list.shift()
}
