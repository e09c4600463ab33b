import type { SendPeriod } from './outbound'
import type { DiagnosisReport, FieldDiagnosis, RemoteDiagnosis, StatsSample, WebRTCStats } from './types'

/**
 * Seed 001 "DiagnosisReport": pure checks over the recent stats, each 'ok' or what went
 * wrong in words a user understands.
 */

/** A check fails when nothing moved for this long. */
export const CHECK_WINDOW_MS = 6_000
/** How far back the rtt/lost/bps/fps/latency series reach (seed: 2-second entries). */
export const HISTORY_MS = 30_000

type MediaState = RTCPeerConnectionState | 'none'
type Camera = { readyState: 'live' | 'ended'; enabled: boolean; muted: boolean }

export function signalCheck(connected: boolean): string {
  return connected ? 'ok' : 'not connected to the coordinator'
}

export function mediaCheck(state: MediaState): string {
  switch (state) {
    case 'connected': return 'ok'
    case 'none': return 'no media connection'
    case 'new':
    case 'connecting': return 'the media connection is still connecting'
    case 'failed': return 'the media connection failed'
    default: return `the media connection is ${state}`
  }
}

/**
 * Our receive side of one connection. Series hold one entry per sample of the last
 * HISTORY_MS, taken from its video track; a figure the sample lacks (no video track, rtt
 * unknown) is 0 there, so the entries stay two seconds apart. With less than
 * CHECK_WINDOW_MS of samples the checks judge what there is, and say 'ok' only if frames came.
 */
export function remoteDiagnosis(input: {
  samples: StatsSample[]; signalConnected: boolean; mediaState: MediaState; now: number; mode: string
}): RemoteDiagnosis {
  const { samples, now } = input
  const recent = within(samples, now, CHECK_WINDOW_MS).map(videoOf)
  const videos = recent.filter((video): video is WebRTCStats => video !== null)
  const short = shortHistory(samples, now)
  const frames = (key: 'framesReceivedDelta' | 'framesDecodedDelta', what: string) =>
    videos.length === 0 ? 'no video track received' : flowCheck(videos.map((video) => video[key]), what, short)
  const meanLag = (key: 'lag100' | 'lag150') =>
    recent.length === 0 ? 0 : recent.reduce((sum, video) => sum + (video?.[key] ?? 0), 0) / recent.length
  const history = within(samples, now, HISTORY_MS).map(videoOf)
  const series = (figure: (video: WebRTCStats) => number | null) => history.map((video) => round1((video && figure(video)) ?? 0))
  return {
    remote_mode: input.mode,
    signal_connect: signalCheck(input.signalConnected),
    media_connect: mediaCheck(input.mediaState),
    video_transfer: frames('framesReceivedDelta', 'no video frames received'),
    video_decode: frames('framesDecodedDelta', 'no video frames decoded'),
    lag_k100: meanLag('lag100'),
    lag_k150: meanLag('lag150'),
    rtt: series((video) => video.rtt),
    lost: series((video) => video.lost),
    bps: series((video) => video.bitrate * 1000),
    fps: series((video) => video.fps),
    latency: series((video) => video.latency),
    webrtc_stats: samples.at(-1)?.stats ?? [],
  }
}

/**
 * Our send side of one connection. `camera` is the video track we send (null: none).
 * A browser that does not count camera frames (no media-source `frames`) is judged by the
 * track's state alone. Series as in remoteDiagnosis, one entry per send period.
 */
export function fieldDiagnosis(input: {
  periods: SendPeriod[]; signalConnected: boolean; mediaState: MediaState; now: number; mode: string; camera: Camera | null
}): FieldDiagnosis {
  const { periods, now } = input
  const recent = within(periods, now, CHECK_WINDOW_MS)
  const short = shortHistory(periods, now)
  const sent = (key: 'videoFramesEncodedDelta' | 'videoFramesSentDelta', what: string) => {
    const counts = recent.map((period) => period[key])
    return counts.some((count) => count !== null) ? flowCheck(counts, what, short) : 'no video track sent'
  }
  const history = within(periods, now, HISTORY_MS)
  const series = (figure: (period: SendPeriod) => number | null) => history.map((period) => round1(figure(period) ?? 0))
  return {
    field_mode: input.mode,
    signal_connect: signalCheck(input.signalConnected),
    media_connect: mediaCheck(input.mediaState),
    video_transfer: sent('videoFramesSentDelta', 'no video frames sent'),
    video_capture: captureCheck(input.camera, recent.map((period) => period.videoFramesCapturedDelta), short),
    video_encode: sent('videoFramesEncodedDelta', 'no video frames encoded'),
    rtt: series((period) => period.rtt),
    lost: series((period) => period.lost),
    bps: series((period) => period.kbps),
    fps: series((period) => period.fps),
  }
}

/**
 * 'ok', or the first check that failed with where it failed. The order follows the media
 * from the camera to the screen, so the first failure is the cause and not a consequence:
 * our link to the coordinator; then per stream the connections (our side, their side),
 * their side's capture, encode and send (`field`), our side's receive and decode (`remote`).
 *
 * @example
 * firstFailure(report) // 'stream 0, their side: the camera is turned off'
 */
export function firstFailure(report: Omit<DiagnosisReport, 'diag_error'>): string {
  if (report.remote_mqtt_connect !== 'ok') return `our side: ${report.remote_mqtt_connect}`
  for (const { stream_id, field, remote } of report.result) {
    const checks: [string, string | undefined][] = [
      ['our side', remote?.signal_connect], ['our side', remote?.media_connect],
      ['their side', field?.signal_connect], ['their side', field?.media_connect],
      ['their side', field?.video_capture], ['their side', field?.video_encode], ['their side', field?.video_transfer],
      ['our side', remote?.video_transfer], ['our side', remote?.video_decode],
    ]
    const failed = checks.find(([, value]) => value !== undefined && value !== 'ok')
    if (failed) return `stream ${stream_id}, ${failed[0]}: ${failed[1]}`
  }
  return 'ok'
}

function captureCheck(camera: Camera | null, captured: (number | null)[], short: boolean): string {
  if (!camera) return 'no camera'
  if (camera.readyState === 'ended') return 'the camera was stopped'
  if (!camera.enabled) return 'the camera is turned off'
  if (camera.muted) return 'the camera is paused by the device or the system'
  if (captured.every((count) => count === null)) return 'ok'
  return flowCheck(captured, short ? 'the camera gave no frames' : 'the camera gives no frames', short)
}

/** 'ok' when any frame moved in the window, else the failure ("… for 6 s", or "… yet" when the window is not covered). */
function flowCheck(counts: (number | null)[], failure: string, short: boolean): string {
  if (counts.some((count) => (count ?? 0) > 0)) return 'ok'
  return short ? `${failure} yet` : `${failure} for ${CHECK_WINDOW_MS / 1000} s`
}

/** Entries of the last `spanMs` up to `now`. */
function within<T extends { at: number }>(entries: T[], now: number, spanMs: number): T[] {
  return entries.filter((entry) => entry.at > now - spanMs && entry.at <= now)
}

/** True when the entries do not reach back over the whole check window. */
function shortHistory(entries: { at: number }[], now: number): boolean {
  return entries.length === 0 || entries[0].at > now - CHECK_WINDOW_MS
}

function videoOf(sample: StatsSample): WebRTCStats | null {
  return sample.stats.find((stats) => stats.mediaType === 'video') ?? null
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}
