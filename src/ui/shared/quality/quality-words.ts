import type { DiagnosisReport, QualityRating, WebRTCStats } from '../../../sdk'
import type { Metric } from './stats-history.svelte'

/** The rating in a word, for the badge (the colour only repeats it). */
export function ratingLabel(rating: QualityRating): string {
  return rating === 'EXCELLENT' ? 'Excellent' : rating === 'GOOD' ? 'Good' : 'Poor'
}

/** A chart's title and unit. */
export const METRIC_WORDS: Record<Metric, { title: string; unit: string }> = {
  bitrate: { title: 'Bitrate', unit: 'Mbps' },
  lost: { title: 'Packets lost', unit: '%' },
  rtt: { title: 'Round trip', unit: 'ms' },
  fps: { title: 'Frames per second', unit: 'fps' },
  jitter: { title: 'Jitter', unit: 'ms' },
}

/** One line of the figures list: `id` names its test id (`stats-<id>`), `value` the raw number (or text). */
export interface Figure { id: string; label: string; value: number | string; text: string }

const fixed = (digits: number, unit = '') => (value: number) => `${value.toFixed(digits)}${unit}`

/**
 * The current figures of one track in plain words, those the browser gave (a figure it does
 * not expose is null in the stats and left out here).
 */
export function figuresOf(stats: WebRTCStats): Figure[] {
  const figures: Figure[] = []
  const add = (id: string, label: string, value: number | string | null, format: (value: number) => string = String) => {
    if (value === null) return
    figures.push({ id, label, value, text: typeof value === 'number' ? format(value) : value })
  }
  add('resolution', 'Resolution', stats.resolution?.replace('x', ' × ') ?? null)
  add('fps', 'Frames per second', stats.fps, fixed(0))
  add('bitrate', 'Bitrate', stats.bitrate, fixed(2, ' Mbps'))
  add('lost', 'Packets lost', stats.packetsLost, (lost) => `${lost} of ${stats.packetsReceived + lost} (${stats.lost.toFixed(1)} % now)`)
  add('rtt', 'Round trip', stats.rtt, fixed(0, ' ms'))
  add('jitter', 'Jitter', stats.jitter === null ? null : stats.jitter * 1000, fixed(1, ' ms'))
  add('codec', 'Codec', stats.codec)
  const decoder = stats.decoderImplementation
  add('decoder', 'Decoder', decoder && (stats.decoderType === 'unknown' ? decoder : `${decoder} (${stats.decoderType})`))
  add('frames-decoded', 'Frames decoded', stats.framesDecoded)
  add('frames-received', 'Frames received', stats.framesReceived)
  add('key-frames', 'Key frames decoded', stats.keyFramesDecoded)
  add('decode-time', 'Decode time per frame', stats.decodeTime, fixed(1, ' ms'))
  add('jitter-buffer', 'Jitter buffer', stats.jitterBuffer, fixed(0, ' ms'))
  add('latency', 'Delay (network + buffer + decode)', stats.latency, fixed(0, ' ms'))
  add('freezes', 'Time frozen (gaps over 100 ms)', stats.lag100, (share) => `${(share * 100).toFixed(1)} %`)
  add('audio-level', 'Audio level', stats.audioLevel, (level) => `${Math.round(level * 100)} %`)
  add('nack', 'Resend requests (NACK)', stats.nack)
  add('pli', 'Picture requests (PLI)', stats.pliCount)
  return figures
}

/** Which end of the connection a diagnosis check looks at: ours receiving, or theirs sending. */
export type CheckSide = 'remote' | 'field'

/** One check of a diagnosis report, in words. */
export interface DiagnosisCheck {
  side: CheckSide
  /** The report's field name (`video_transfer`…). */
  check: string
  streamId: number | null
  /** 'ok', or why not. */
  value: string
  ok: boolean
  label: string
}

const CHECK_WORDS: Record<CheckSide, Record<string, string>> = {
  remote: {
    remote_mqtt_connect: 'Our link to the server',
    signal_connect: 'Signaling connected (receiving)',
    media_connect: 'Media connection up (receiving)',
    video_transfer: 'Video arrives',
    video_decode: 'Video decodes',
  },
  field: {
    signal_connect: 'Signaling connected (their side)',
    media_connect: 'Media connection up (their side)',
    video_transfer: 'Video is sent',
    video_capture: 'Their camera captures',
    video_encode: 'Their video encodes',
  },
}

/** Every check of `report`, failures first (in report order within each group). */
export function diagnosisChecks(report: DiagnosisReport): DiagnosisCheck[] {
  const checks: DiagnosisCheck[] = []
  const add = (side: CheckSide, check: string, value: string, streamId: number | null) =>
    checks.push({ side, check, streamId, value, ok: value === 'ok', label: CHECK_WORDS[side][check] ?? check })
  add('remote', 'remote_mqtt_connect', report.remote_mqtt_connect, null)
  for (const { stream_id: streamId, remote, field } of report.result) {
    if (remote) for (const check of ['signal_connect', 'media_connect', 'video_transfer', 'video_decode'] as const) add('remote', check, remote[check], streamId)
    if (field) for (const check of ['signal_connect', 'media_connect', 'video_transfer', 'video_capture', 'video_encode'] as const) add('field', check, field[check], streamId)
  }
  return [...checks.filter((check) => !check.ok), ...checks.filter((check) => check.ok)]
}

/** The mean of a diagnosis series (the last 30 s at 2 s), or null when empty. */
export function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length
}

/** The connection states the SDK reports, in words for a badge. */
export function connectionStateLabel(state: string | null): string {
  switch (state) {
    case null: return 'Not started'
    case 'new': return 'Not started'
    case 'connecting': return 'Connecting'
    case 'connected': return 'Connected'
    case 'disconnected': return 'Interrupted'
    case 'reconnecting': return 'Reconnecting'
    case 'failed': return 'Failed'
    case 'closed': return 'Closed'
    default: return state
  }
}

/** How the badge colours a state: fine, on its way, or in trouble. */
export function stateTone(state: string | null): 'good' | 'wait' | 'bad' {
  if (state === 'connected') return 'good'
  if (state === 'failed' || state === 'disconnected' || state === 'closed') return 'bad'
  return 'wait'
}

/** The signaling states (seed 001 SignalingState), in words. */
export function signalingStateLabel(state: string | null): string {
  switch (state) {
    case null:
    case 'new': return 'Not started'
    case 'scheduling':
    case 'scheduled': return 'Setting up'
    default: return connectionStateLabel(state)
  }
}

const average = (values: readonly number[], digits: number, unit: string) => {
  const value = mean(values)
  return value === null ? null : `${value.toFixed(digits)} ${unit}`
}

/** One side's figures over the last 30 s of a diagnosis, as a sentence ("1200 kbps, 15 fps, …"). */
export function diagnosisSummary(side: { bps: number[]; fps: number[]; lost: number[]; rtt: number[]; lag_k100?: number }): string {
  const parts = [
    average(side.bps, 0, 'kbps'),
    average(side.fps, 0, 'fps'),
    average(side.lost, 1, '% lost'),
    average(side.rtt, 0, 'ms round trip'),
    side.lag_k100 === undefined ? null : `frozen ${(side.lag_k100 * 100).toFixed(1)} % of the time`,
  ]
  const said = parts.filter((part): part is string => part !== null)
  return said.length === 0 ? 'no figures yet' : said.join(', ')
}
