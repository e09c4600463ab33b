import { selectedCandidatePair } from '../selected-pair'
import type { MediaType, WebRTCStats } from './types'

/**
 * Seed 001 "WebRTCStats" from two getStats() readings: what each inbound track received
 * over the period between them. Pure arithmetic over plain report objects, so it runs on
 * recorded fixtures as well as on a live RTCStatsReport.
 */

/** One getStats() reading as plain objects; `at` is ms since epoch. */
export interface StatsSnapshot {
  at: number
  reports: Record<string, unknown>[]
}

/** Frame gaps per track (keyed by trackIdentifier), measured outside getStats (see freeze.ts). */
export type LagByTrack = ReadonlyMap<string, { lag100: number; lag150: number }>

/** Seed 001 "stableFps": a 10 s window. */
export const STABLE_FPS_WINDOW_MS = 10_000

/** Plain copies of a report's entries; `at` is the newest report timestamp (else now). */
export function snapshotOf(report: RTCStatsReport): StatsSnapshot {
  const reports = [...report.values()].map((entry) => ({ ...entry }) as Record<string, unknown>)
  const stamps = reports.map((entry) => entry.timestamp).filter((stamp): stamp is number => typeof stamp === 'number')
  return { at: stamps.length > 0 ? Math.max(...stamps) : Date.now(), reports }
}

/** A numeric field, or null when the report lacks it. */
export function num(report: Record<string, unknown> | null | undefined, key: string): number | null {
  const value = report?.[key]
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

const ratio = (part: number | null, whole: number | null, scale = 1): number | null =>
  part === null || whole === null || whole <= 0 ? null : (part / whole) * scale

const SOFTWARE_DECODERS = ['libvpx', 'ffmpeg', 'dav1d', 'libaom', 'openh264', 'libgav1']
const HARDWARE_DECODERS = ['externaldecoder', 'v4l2', 'vaapi', 'mediacodec', 'd3d11', 'videotoolbox', 'dxva', 'nvdec']

/** Chromium says `powerEfficientDecoder`; older builds only name the implementation. */
export function decoderTypeOf(powerEfficient: unknown, implementation: string | null): WebRTCStats['decoderType'] {
  if (powerEfficient === true) return 'hardware'
  if (powerEfficient === false) return 'software'
  const name = implementation?.toLowerCase() ?? ''
  if (SOFTWARE_DECODERS.some((decoder) => name.includes(decoder))) return 'software'
  if (HARDWARE_DECODERS.some((decoder) => name.includes(decoder))) return 'hardware'
  return 'unknown'
}

/**
 * Turns successive getStats() readings of one peer connection into seed 001 WebRTCStats,
 * one per inbound audio/video track.
 *
 * Units and choices:
 * - bitrate: Mbps of `bytesReceived` (RTP payload incl. retransmissions, without RTP headers
 *   or padding) over the time between the two reports' own timestamps.
 * - lost / lostAvg: lost ÷ (received + lost) in %, over the period / since the track began.
 * - rtt: the selected candidate pair's currentRoundTripTime, else the track's
 *   remote-outbound-rtp roundTripTime, in ms. rttAvg: the browser's own running mean, the
 *   pair's totalRoundTripTime ÷ responsesReceived (else the remote report's
 *   totalRoundTripTime ÷ roundTripTimeMeasurements): it counts every measurement since the
 *   connection began, not only those that fell on a reading.
 * - decodeTime, processingDelay, jitterBuffer(Target): ms per frame (video) or per emitted
 *   sample (audio: jitterBufferEmittedCount, which is also what the spec divides audio's
 *   totalProcessingDelay by) over the period; the …Avg fields over the track's life.
 * - latency: rtt / 2 + jitterBuffer + decodeTime; null when any is unknown, so audio
 *   (no decode time) has none.
 * - A counter restart (another SSRC on the same track after renegotiation, or
 *   packetsReceived going back) counts the period's deltas from 0; a counter that merely
 *   went back (packetsLost when a late packet arrives) gives a delta of 0, never negative.
 *
 * @example
 * const inbound = new InboundStats({ srcUserId: 'peer-1' })
 * setInterval(async () => console.log(inbound.update(snapshotOf(await pc.getStats()))), 2_000)
 */
export class InboundStats {
  private previous: StatsSnapshot | null = null
  /** fps readings per track, kept for STABLE_FPS_WINDOW_MS. */
  private readonly fpsHistory = new Map<string, { at: number; fps: number }[]>()
  private readonly srcUserId: string
  private readonly streamId: number
  private readonly windowMs: number

  constructor(options: { srcUserId: string; streamId?: number; windowMs?: number }) {
    this.srcUserId = options.srcUserId
    this.streamId = options.streamId ?? 0
    this.windowMs = options.windowMs ?? STABLE_FPS_WINDOW_MS
  }

  /** Stats for the period since the last call; the first call only remembers the snapshot and returns []. */
  update(snapshot: StatsSnapshot, lag?: LagByTrack): WebRTCStats[] {
    const previous = this.previous
    this.previous = snapshot
    if (!previous) return []
    const tracks = snapshot.reports.filter(isInboundTrack)
    const seen = new Set(tracks.map((report) => report.trackIdentifier as string))
    for (const trackId of this.fpsHistory.keys()) if (!seen.has(trackId)) this.fpsHistory.delete(trackId)
    const pair = selectedCandidatePair(snapshot.reports)
    return tracks.map((report) => {
      const before = previous.reports.find((old) => isInboundTrack(old) && old.trackIdentifier === report.trackIdentifier)
      return this.track(snapshot, previous, report, before, pair, lag)
    })
  }

  private track(
    snapshot: StatsSnapshot, previous: StatsSnapshot, now: Record<string, unknown>, before: Record<string, unknown> | undefined,
    pair: Record<string, unknown> | null, lag: LagByTrack | undefined,
  ): WebRTCStats {
    const find = (id: unknown) => snapshot.reports.find((report) => report.id === id)
    const trackId = now.trackIdentifier as string
    const mediaType = now.kind as MediaType
    const video = mediaType === 'video'
    const restarted = !before || before.ssrc !== now.ssrc || (num(now, 'packetsReceived') ?? 0) < (num(before, 'packetsReceived') ?? 0)
    const seconds = Math.max(0, restarted
      ? (snapshot.at - previous.at) / 1000
      : ((num(now, 'timestamp') ?? snapshot.at) - (num(before, 'timestamp') ?? previous.at)) / 1000)
    const delta = (key: string): number | null => {
      const current = num(now, key)
      if (current === null || restarted) return current
      return Math.max(0, current - (num(before, key) ?? 0))
    }
    const videoOnly = (value: number | null) => (video ? value : null)

    const packetsReceived = num(now, 'packetsReceived') ?? 0
    const packetsLost = num(now, 'packetsLost') ?? 0
    const packetsReceivedDelta = delta('packetsReceived') ?? 0
    const packetsLostDelta = delta('packetsLost') ?? 0
    const framesDecodedDelta = delta('framesDecoded')
    // Audio's delays are summed per emitted sample; video's per frame (decoded for decode and processing).
    const perUnit = video ? 'framesDecoded' : 'jitterBufferEmittedCount'
    const perPeriod = (key: string, unit: string) => ratio(delta(key), delta(unit), 1000)
    const perLife = (key: string, unit: string) => ratio(num(now, key), num(now, unit), 1000)

    const remote = find(now.remoteId)
    const rtt = secondsToMs(num(pair, 'currentRoundTripTime') ?? num(remote, 'roundTripTime'))
    const rttAvg = ratio(num(pair, 'totalRoundTripTime'), num(pair, 'responsesReceived'), 1000)
      ?? ratio(num(remote, 'totalRoundTripTime'), num(remote, 'roundTripTimeMeasurements'), 1000)
    const decodeTime = video ? perPeriod('totalDecodeTime', 'framesDecoded') : null
    const jitterBuffer = perPeriod('jitterBufferDelay', 'jitterBufferEmittedCount')
    const fps = video ? num(now, 'framesPerSecond') ?? ratio(framesDecodedDelta, seconds) : null
    const implementation = typeof now.decoderImplementation === 'string' ? now.decoderImplementation : null
    const codec = find(now.codecId)
    const width = num(now, 'frameWidth')
    const height = num(now, 'frameHeight')
    const trackLag = lag?.get(trackId)

    return {
      srcUserId: this.srcUserId,
      trackId,
      streamId: this.streamId,
      mediaType,
      bitrate: ratio((delta('bytesReceived') ?? 0) * 8, seconds, 1e-6) ?? 0,
      packetsReceived,
      packetsLost,
      lost: ratio(packetsLostDelta, packetsReceivedDelta + packetsLostDelta, 100) ?? 0,
      lostAvg: ratio(packetsLost, packetsReceived + packetsLost, 100) ?? 0,
      rtt,
      rttAvg,
      codec: typeof codec?.mimeType === 'string' ? codec.mimeType : null,
      decoderImplementation: implementation,
      decoderType: video ? decoderTypeOf(now.powerEfficientDecoder, implementation) : 'unknown',
      nack: num(now, 'nackCount') ?? 0,
      firCount: videoOnly(num(now, 'firCount')),
      pliCount: videoOnly(num(now, 'pliCount')),
      framesReceived: videoOnly(num(now, 'framesReceived')),
      framesDecoded: videoOnly(num(now, 'framesDecoded')),
      keyFramesDecoded: videoOnly(num(now, 'keyFramesDecoded')),
      resolution: video && width !== null && height !== null ? `${width}x${height}` : null,
      fps,
      decodeTime,
      decodeTimeAvg: video ? perLife('totalDecodeTime', 'framesDecoded') : null,
      processingDelay: perPeriod('totalProcessingDelay', perUnit),
      processingDelayAvg: perLife('totalProcessingDelay', perUnit),
      audioLevel: video ? null : num(now, 'audioLevel'),
      jitter: num(now, 'jitter'),
      jitterBuffer,
      jitterBufferAvg: perLife('jitterBufferDelay', 'jitterBufferEmittedCount'),
      jitterBufferTarget: perPeriod('jitterBufferTargetDelay', 'jitterBufferEmittedCount'),
      jitterBufferTargetAvg: perLife('jitterBufferTargetDelay', 'jitterBufferEmittedCount'),
      latency: rtt === null || jitterBuffer === null || decodeTime === null ? null : rtt / 2 + jitterBuffer + decodeTime,
      lag100: trackLag?.lag100 ?? null,
      lag150: trackLag?.lag150 ?? null,
      nackDelta: delta('nackCount') ?? 0,
      firCountDelta: videoOnly(delta('firCount')),
      pliCountDelta: videoOnly(delta('pliCount')),
      framesReceivedDelta: videoOnly(delta('framesReceived')),
      framesDecodedDelta: videoOnly(framesDecodedDelta),
      packetsReceivedDelta,
      packetsLostDelta,
      stableFps: video ? this.stableFps(trackId, snapshot.at, fps) : null,
    }
  }

  /** Mean of the track's fps readings within the window, readings at 0 fps left out. */
  private stableFps(trackId: string, at: number, fps: number | null): number | null {
    const history = (this.fpsHistory.get(trackId) ?? []).filter((reading) => reading.at > at - this.windowMs)
    if (fps !== null) history.push({ at, fps })
    this.fpsHistory.set(trackId, history)
    const moving = history.filter((reading) => reading.fps > 0)
    return moving.length === 0 ? null : moving.reduce((sum, reading) => sum + reading.fps, 0) / moving.length
  }
}

function isInboundTrack(report: Record<string, unknown>): boolean {
  return report.type === 'inbound-rtp' && typeof report.trackIdentifier === 'string' && (report.kind === 'audio' || report.kind === 'video')
}

function secondsToMs(seconds: number | null): number | null {
  return seconds === null ? null : seconds * 1000
}
