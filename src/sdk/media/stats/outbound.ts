import { selectedCandidatePair } from '../selected-pair'
import { num, type StatsSnapshot } from './inbound'

/** Our send side over one period: what a diagnosis reports as the "field" figures (seed 001). */
export interface SendPeriod {
  /** ms since epoch (the reading's time). */
  at: number
  /** ms: the video's remote-inbound-rtp roundTripTime (else the audio's), else the candidate pair's current one. */
  rtt: number | null
  /** % of packets the far end reported lost (remote-inbound-rtp fractionLost × 100; the video's, else the audio's). */
  lost: number | null
  /** kbit/s of payload over every outbound-rtp (bytesSent). */
  kbps: number
  /** The video's framesPerSecond, else framesSent over the period. */
  fps: number | null
  videoFramesSentDelta: number | null
  videoFramesEncodedDelta: number | null
  /** Frames the camera delivered (media-source `frames`). */
  videoFramesCapturedDelta: number | null
}

/**
 * Turns successive getStats() readings of one peer connection into our send side's figures.
 * A counter that went backwards (another SSRC or source) counts from 0 again.
 *
 * @example
 * const outbound = new OutboundStats()
 * const period = outbound.update(snapshotOf(await pc.getStats())) // null the first time
 */
export class OutboundStats {
  private previous: StatsSnapshot | null = null

  /** The period since the last call; null on the first call, which only remembers the snapshot. */
  update(snapshot: StatsSnapshot): SendPeriod | null {
    const previous = this.previous
    this.previous = snapshot
    if (!previous) return null
    const seconds = (snapshot.at - previous.at) / 1000
    const before = (report: Record<string, unknown>) => previous.reports.find((old) => old.id === report.id)
    const grown = (report: Record<string, unknown> | undefined, key: string): number | null =>
      report ? growth(num(report, key), num(before(report), key)) : null
    const ofKind = (type: string, kind: string) => snapshot.reports.find((report) => report.type === type && report.kind === kind)

    const outbound = snapshot.reports.filter((report) => report.type === 'outbound-rtp')
    const bytes = outbound.reduce((sum, report) => sum + (grown(report, 'bytesSent') ?? 0), 0)
    const video = ofKind('outbound-rtp', 'video')
    const framesSent = grown(video, 'framesSent')
    const remote = ofKind('remote-inbound-rtp', 'video') ?? ofKind('remote-inbound-rtp', 'audio')
    const roundTrip = num(remote, 'roundTripTime') ?? num(selectedCandidatePair(snapshot.reports), 'currentRoundTripTime')
    const fractionLost = num(remote, 'fractionLost')
    return {
      at: snapshot.at,
      rtt: roundTrip === null ? null : roundTrip * 1000,
      lost: fractionLost === null ? null : fractionLost * 100,
      kbps: seconds > 0 ? (bytes * 8) / seconds / 1000 : 0,
      fps: num(video, 'framesPerSecond') ?? (framesSent !== null && seconds > 0 ? framesSent / seconds : null),
      videoFramesSentDelta: framesSent,
      videoFramesEncodedDelta: grown(video, 'framesEncoded'),
      videoFramesCapturedDelta: grown(snapshot.reports.find((report) => report.id === video?.mediaSourceId) ?? ofKind('media-source', 'video'), 'frames'),
    }
  }
}

/** A cumulative counter's growth; one that went back was restarted, so it grew from 0. */
function growth(current: number | null, previous: number | null): number | null {
  if (current === null) return null
  return previous === null || current < previous ? current : current - previous
}
