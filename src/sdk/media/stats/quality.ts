import type { QualityRating, QualityScore, WebRTCStats } from './types'

/**
 * How good one period of a received track was, as a score 0–100, a MOS 1–5 and a rating.
 *
 * The score is an E-model R-factor, the way both of these compute it:
 * - twilio/twilio-voice.js `lib/twilio/rtc/mos.ts` `calculate(rtt, jitter, fractionLost)`:
 *   effective latency = rtt + 2 × jitter + 10 ms; R = r0 − latency / 40 below 160 ms, else
 *   r0 − (latency − 120) / 10; then R − 2.5 × loss % (R = 0 once the loss passes R / 2.5);
 *   MOS = 1 + 0.035 R + 0.000007 R (R − 60)(100 − R). Twilio's r0 is 94.768; we take 93.2,
 *   the ITU-T G.107 default R for a path with no impairments.
 * - livekit/livekit `pkg/sfu/connectionquality/scorer.go`: the same delay curve and loss
 *   term from a 100 maximum (`calculatePacketScore`), and for video the lower of that and a
 *   bitrate score, 100 − 20 × ln(expected bits / received bits) clamped to 0–100
 *   (`calculateBitrateScore`: GOOD below ~2.7×, POOR below ~20.1× too few bits); a period
 *   with no packets is POOR at 40 ("dry"); MOS from the score with `scoreToMOS` (≤ 0 → 1,
 *   ≥ 100 → 4.5); EXCELLENT above 80, GOOD above 40 (`scoreToConnectionQuality`).
 *
 * LiveKit's expected bitrate is what the publisher declared for the layer; a browser
 * receiving from a plain peer knows no such figure, so we expect EXPECTED_BITS_PER_PIXEL
 * per pixel per frame of the received resolution and fps. LiveKit's smoothing over periods
 * and packet-rate weighting are left out: one period in, one score out.
 */

export const R0 = 93.2
/** Twilio: effective latency = rtt + 2 × jitter + this. */
export const CODEC_DELAY_MS = 10
/** Below it each 40 ms costs one R point; above it, each 10 ms past 120 ms does. */
export const LATENCY_KNEE_MS = 160
/** R points per % of packets lost. */
export const LOSS_WEIGHT = 2.5
/**
 * Bits a video frame should carry per pixel: LiveKit client-sdk-js's h720 preset
 * (1280×720 at 30 fps, 1.7 Mbit/s) spends 0.06; its smaller presets spend more, so this is
 * the most lenient of them.
 */
export const EXPECTED_BITS_PER_PIXEL = 0.06
/** LiveKit `calculateBitrateScore`: score points per e-fold of missing bits. */
export const BITRATE_LOG_WEIGHT = 20
/** LiveKit's score for a period in which nothing arrived ("dry"). */
export const DRY_SCORE = 40
export const EXCELLENT_ABOVE = 80
export const GOOD_ABOVE = 40
export const MAX_MOS = 4.5

/** The R-factor (0–100) for a round trip and jitter in ms and a loss in %. */
export function rFactor(rttMs: number, jitterMs: number, lossPercent: number): number {
  const latency = rttMs + 2 * jitterMs + CODEC_DELAY_MS
  const delayEffect = latency < LATENCY_KNEE_MS ? latency / 40 : (latency - 120) / 10
  return clamp(R0 - delayEffect - LOSS_WEIGHT * lossPercent, 0, 100)
}

/** MOS 1–4.5 from a score 0–100, rounded to 2 decimals. */
export function mosOf(score: number): number {
  const r = clamp(score, 0, 100)
  const mos = 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r)
  return Math.round(clamp(mos, 1, MAX_MOS) * 100) / 100
}

/** 0–100 for a video period's bitrate against what its resolution and fps need; null when unknown (audio, no resolution or fps). */
export function bitrateScore(stats: WebRTCStats): number | null {
  const size = /^(\d+)x(\d+)$/.exec(stats.resolution ?? '')
  if (stats.mediaType !== 'video' || !size || !stats.fps) return null
  const expectedBits = Number(size[1]) * Number(size[2]) * stats.fps * EXPECTED_BITS_PER_PIXEL
  const receivedBits = stats.bitrate * 1e6
  if (receivedBits <= 0) return 0
  return clamp(100 - BITRATE_LOG_WEIGHT * Math.log(expectedBits / receivedBits), 0, 100)
}

export function ratingOf(score: number): QualityRating {
  if (score > EXCELLENT_ABOVE) return 'EXCELLENT'
  if (score > GOOD_ABOVE) return 'GOOD'
  return 'POOR'
}

/**
 * One track's quality over its period. Jitter comes in seconds (WebRTCStats) and is taken
 * in ms; an unknown rtt or jitter adds no delay. Score rounded to 1 decimal.
 *
 * @example
 * trackQuality(stats) // { score: 92.5, mos: 4.4, rating: 'EXCELLENT' }
 */
export function trackQuality(stats: WebRTCStats): QualityScore {
  const network = stats.packetsReceivedDelta === 0
    ? DRY_SCORE
    : rFactor(stats.rtt ?? 0, (stats.jitter ?? 0) * 1000, stats.lost)
  const score = Math.round(Math.min(network, bitrateScore(stats) ?? 100) * 10) / 10
  return { score, mos: mosOf(score), rating: ratingOf(score) }
}

/**
 * A connection is as good as its worst track. With no track at all nothing is received,
 * which is the worst case: score 0, MOS 1, POOR.
 */
export function connectionQuality(stats: WebRTCStats[]): QualityScore {
  const scores = stats.map(trackQuality)
  if (scores.length === 0) return { score: 0, mos: 1, rating: 'POOR' }
  return scores.reduce((worst, score) => (score.score < worst.score ? score : worst))
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value))
}
