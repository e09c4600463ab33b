import type { MediaType, QualityScore, StatsSample, WebRTCStats } from '../../../sdk'

/** How far back the stats drawer's charts go. */
export const HISTORY_MS = 120_000
/** At most this many points per track, whatever the sampling rate (the SDK samples every 2 s: 60 points). */
export const MAX_POINTS = 120

/** One track's figures at one moment, as the charts draw them (units as shown: Mbps, %, ms, fps). */
export interface TrackPoint {
  at: number
  bitrate: number
  lost: number
  rtt: number | null
  fps: number | null
  /** ms (the SDK reports seconds). */
  jitter: number | null
}

/** One inbound track of a connection: its recent points and the latest full figures. */
export interface TrackHistory {
  trackId: string
  mediaType: MediaType
  points: readonly TrackPoint[]
  latest: WebRTCStats
}

/** One remote connection (a call, or a room member's session): its latest quality and its tracks. */
export interface ConnectionHistory {
  sessionId: string
  quality: QualityScore
  /** When the latest sample was taken (ms since epoch). */
  at: number
  /** Video before audio, then by track id: a stable order for the drawer. */
  tracks: readonly TrackHistory[]
}

/** A chart's metric: which point field, and how it is named and measured. */
export type Metric = 'bitrate' | 'lost' | 'rtt' | 'fps' | 'jitter'

/** The charts a track shows, in order: fps only for video. */
export function metricsOf(mediaType: MediaType): Metric[] {
  return mediaType === 'video' ? ['bitrate', 'lost', 'rtt', 'fps', 'jitter'] : ['bitrate', 'lost', 'rtt', 'jitter']
}

/** The chart-friendly figures of one track's stats. */
export function pointOf(stats: WebRTCStats, at: number): TrackPoint {
  return {
    at,
    bitrate: stats.bitrate,
    lost: stats.lost,
    rtt: stats.rtt,
    fps: stats.fps,
    jitter: stats.jitter === null ? null : stats.jitter * 1000,
  }
}

/** Keeps the points of the last `windowMs` before `now`, and at most `max` of them (the newest). */
export function trimPoints(points: readonly TrackPoint[], now: number, windowMs = HISTORY_MS, max = MAX_POINTS): TrackPoint[] {
  const recent = points.filter((point) => point.at > now - windowMs)
  return recent.length > max ? recent.slice(recent.length - max) : recent
}

const byMediaThenId = (a: TrackHistory, b: TrackHistory) =>
  a.mediaType === b.mediaType ? a.trackId.localeCompare(b.trackId) : a.mediaType === 'video' ? -1 : 1

/**
 * The connection's history with `sample` added: each track in it gets a point; a track missing
 * from it (replaced, or its sender stopped) stays until its last point leaves the window.
 */
export function addSample(previous: ConnectionHistory | undefined, sample: StatsSample, windowMs = HISTORY_MS, max = MAX_POINTS): ConnectionHistory {
  const tracks = new Map((previous?.tracks ?? []).map((track) => [track.trackId, track]))
  for (const stats of sample.stats) {
    const before = tracks.get(stats.trackId)
    tracks.set(stats.trackId, {
      trackId: stats.trackId,
      mediaType: stats.mediaType,
      points: [...(before?.points ?? []), pointOf(stats, sample.at)],
      latest: stats,
    })
  }
  const kept: TrackHistory[] = []
  for (const track of tracks.values()) {
    const points = trimPoints(track.points, sample.at, windowMs, max)
    if (points.length > 0) kept.push({ ...track, points })
  }
  return { sessionId: sample.sessionId, quality: sample.quality, at: sample.at, tracks: kept.sort(byMediaThenId) }
}

/**
 * A metric over the window as uPlot draws it: x in seconds before the latest sample (−120…0),
 * y the values (null where the browser gave none: a gap, not a zero).
 */
export function seriesOf(track: TrackHistory, metric: Metric, latestAt: number): [number[], (number | null)[]] {
  return [track.points.map((point) => (point.at - latestAt) / 1000), track.points.map((point) => point[metric])]
}

/**
 * The stats of every remote connection we receive media from, for the quality badges and the
 * stats drawers: fed with the SDK's `stats` samples, each connection keeps the last two minutes.
 */
export class StatsHistory {
  #connections = $state.raw<ReadonlyMap<string, ConnectionHistory>>(new Map())

  get connections(): ReadonlyMap<string, ConnectionHistory> { return this.#connections }

  /** The history of one connection (the call's or a member session's), once a sample came. */
  get(sessionId: string | null | undefined): ConnectionHistory | null {
    return (sessionId && this.#connections.get(sessionId)) || null
  }

  quality(sessionId: string | null | undefined): QualityScore | null {
    return this.get(sessionId)?.quality ?? null
  }

  add(sample: StatsSample): void {
    const next = new Map(this.#connections)
    next.set(sample.sessionId, addSample(this.#connections.get(sample.sessionId), sample))
    this.#connections = next
  }

  /** Drops a connection that ended (a member left, the call hung up). */
  forget(sessionId: string): void {
    if (!this.#connections.has(sessionId)) return
    const next = new Map(this.#connections)
    next.delete(sessionId)
    this.#connections = next
  }

  clear(): void {
    if (this.#connections.size > 0) this.#connections = new Map()
  }
}
