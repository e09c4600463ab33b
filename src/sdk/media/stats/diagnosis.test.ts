import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CHECK_WINDOW_MS, fieldDiagnosis, firstFailure, HISTORY_MS, remoteDiagnosis } from './diagnosis'
import { InboundStats, type StatsSnapshot } from './inbound'
import { OutboundStats, type SendPeriod } from './outbound'
import { connectionQuality } from './quality'
import type { DiagnosisReport, FieldDiagnosis, RemoteDiagnosis, StatsSample, WebRTCStats } from './types'

type Recorded = StatsSnapshot & { side: 'receive' | 'send' }
const recording = (JSON.parse(readFileSync(new URL('./fixtures/chromium-call.json', import.meta.url), 'utf8')) as Recorded[])

/** The samples and send periods a monitor would have kept over the recorded call. */
function recorded(): { samples: StatsSample[]; periods: SendPeriod[]; now: number } {
  const inbound = new InboundStats({ srcUserId: 'peer' })
  const outbound = new OutboundStats()
  const samples = recording.filter((s) => s.side === 'receive').flatMap((snapshot) => {
    const stats = inbound.update(snapshot)
    return stats.length === 0 ? [] : [{ sessionId: 'call-1', stats, quality: connectionQuality(stats), at: snapshot.at }]
  })
  const periods = recording.filter((s) => s.side === 'send').flatMap((snapshot) => outbound.update(snapshot) ?? [])
  return { samples, periods, now: recording.at(-1)!.at }
}

/** A sample at `at` whose video track moved `frames` frames (received and decoded unless told). */
function sample(at: number, video: Partial<WebRTCStats> | null): StatsSample {
  const stats = video === null ? [] : [{ mediaType: 'video', framesReceivedDelta: 40, framesDecodedDelta: 40, rtt: 20, lost: 0, bitrate: 0.5, fps: 20, latency: 40, lag100: null, lag150: null, ...video } as WebRTCStats]
  return { sessionId: 's', stats, quality: { score: 90, mos: 4.3, rating: 'EXCELLENT' }, at }
}
/** Samples every 2 s over the last `spanMs` up to `now`. */
const every2s = (now: number, spanMs: number, video: Partial<WebRTCStats> | null) =>
  Array.from({ length: spanMs / 2_000 + 1 }, (_, i) => sample(now - spanMs + i * 2_000, video))

const remote = (samples: StatsSample[], now: number, extra: Partial<Parameters<typeof remoteDiagnosis>[0]> = {}) =>
  remoteDiagnosis({ samples, signalConnected: true, mediaState: 'connected', now, mode: 'p2p', ...extra })

const NOW = 100_000

describe('our receive side', () => {
  it('a recorded healthy call passes every check', () => {
    const { samples, now } = recorded()
    const report = remote(samples, now)
    expect(report).toMatchObject({ remote_mode: 'p2p', signal_connect: 'ok', media_connect: 'ok', video_transfer: 'ok', video_decode: 'ok' })
    const videos = samples.map((s) => s.stats.find((t) => t.mediaType === 'video')!)
    expect(report.bps).toEqual(videos.map((v) => Math.round(v.bitrate * 1000 * 10) / 10)) // kbit/s
    expect(report.fps).toEqual(videos.map((v) => v.fps))
    expect(report.webrtc_stats).toBe(samples.at(-1)!.stats)
  })

  it('says when we are not connected to the coordinator or have no media connection', () => {
    expect(remote([], NOW, { signalConnected: false }).signal_connect).toBe('not connected to the coordinator')
    expect(remote([], NOW, { mediaState: 'none' }).media_connect).toBe('no media connection')
    expect(remote([], NOW, { mediaState: 'disconnected' }).media_connect).toBe('the media connection is disconnected')
    expect(remote([], NOW, { mediaState: 'failed' }).media_connect).toBe('the media connection failed')
  })

  it('no video frames for the whole window fails the transfer', () => {
    const report = remote(every2s(NOW, 10_000, { framesReceivedDelta: 0, framesDecodedDelta: 0 }), NOW)
    expect(report.video_transfer).toBe(`no video frames received for ${CHECK_WINDOW_MS / 1000} s`)
    expect(report.video_decode).toBe(`no video frames decoded for ${CHECK_WINDOW_MS / 1000} s`)
  })

  it('frames that stopped more than 6 s ago do not count', () => {
    const samples = [...every2s(NOW - 8_000, 10_000, {}), ...every2s(NOW, 6_000, { framesReceivedDelta: 0 }).slice(1)]
    expect(remote(samples, NOW).video_transfer).toBe('no video frames received for 6 s')
  })

  it('frames received but not decoded fail the decode only', () => {
    const report = remote(every2s(NOW, 10_000, { framesDecodedDelta: 0 }), NOW)
    expect(report).toMatchObject({ video_transfer: 'ok', video_decode: 'no video frames decoded for 6 s' })
  })

  it('with less history than the window: ok only if frames came', () => {
    expect(remote(every2s(NOW, 2_000, {}), NOW).video_transfer).toBe('ok')
    expect(remote(every2s(NOW, 2_000, { framesReceivedDelta: 0 }), NOW).video_transfer).toBe('no video frames received yet')
  })

  it('no video track at all', () => {
    expect(remote(every2s(NOW, 10_000, null), NOW).video_transfer).toBe('no video track received')
    expect(remote([], NOW).video_transfer).toBe('no video track received')
  })

  it('freeze rates are the window’s mean, unknown counting as 0', () => {
    const samples = [sample(NOW - 4_000, { lag100: 0.3, lag150: 0.1 }), sample(NOW - 2_000, {}), sample(NOW, { lag100: 0.6, lag150: 0.2 })]
    const report = remote(samples, NOW)
    expect(report.lag_k100).toBeCloseTo(0.3, 9)
    expect(report.lag_k150).toBeCloseTo(0.1, 9)
  })

  it('series cover the last 30 s, one entry per sample, unknown figures as 0', () => {
    const samples = [...every2s(NOW - 2_000, 38_000, {}), sample(NOW, { rtt: null, latency: null, bitrate: 1.25 })]
    const report = remote(samples, NOW)
    expect(report.rtt).toHaveLength(HISTORY_MS / 2_000)
    expect(report.rtt.at(-1)).toBe(0)
    expect(report.latency.at(-1)).toBe(0)
    expect(report.bps.at(-1)).toBe(1250)
  })
})

describe('our send side', () => {
  const camera = { readyState: 'live', enabled: true, muted: false } as const
  const period = (at: number, fields: Partial<SendPeriod> = {}): SendPeriod => ({
    at, rtt: 20, lost: 0, kbps: 500, fps: 20, videoFramesSentDelta: 40, videoFramesEncodedDelta: 40, videoFramesCapturedDelta: 40, ...fields,
  })
  const periods = (fields: Partial<SendPeriod>) => Array.from({ length: 6 }, (_, i) => period(NOW - 10_000 + i * 2_000, fields))
  const field = (list: SendPeriod[], extra: Partial<Parameters<typeof fieldDiagnosis>[0]> = {}) =>
    fieldDiagnosis({ periods: list, signalConnected: true, mediaState: 'connected', now: NOW, mode: 'p2p', camera, ...extra })

  it('a recorded healthy call passes every check', () => {
    const { periods: recordedPeriods, now } = recorded()
    const report = fieldDiagnosis({ periods: recordedPeriods, signalConnected: true, mediaState: 'connected', now, mode: 'p2p', camera })
    expect(report).toMatchObject({ field_mode: 'p2p', video_capture: 'ok', video_encode: 'ok', video_transfer: 'ok' })
    expect(report.bps).toEqual(recordedPeriods.map((p) => Math.round(p.kbps * 10) / 10))
  })

  it('says what is wrong with the camera', () => {
    expect(field(periods({}), { camera: null }).video_capture).toBe('no camera')
    expect(field(periods({}), { camera: { ...camera, readyState: 'ended' } }).video_capture).toBe('the camera was stopped')
    expect(field(periods({}), { camera: { ...camera, enabled: false } }).video_capture).toBe('the camera is turned off')
    expect(field(periods({ videoFramesCapturedDelta: 0 })).video_capture).toBe('the camera gives no frames for 6 s')
  })

  it('a browser that does not count camera frames is judged by the track alone', () => {
    expect(field(periods({ videoFramesCapturedDelta: null })).video_capture).toBe('ok')
  })

  it('frames captured but not encoded, or encoded but not sent', () => {
    expect(field(periods({ videoFramesEncodedDelta: 0, videoFramesSentDelta: 0 }))).toMatchObject({
      video_capture: 'ok', video_encode: 'no video frames encoded for 6 s', video_transfer: 'no video frames sent for 6 s',
    })
    expect(field(periods({ videoFramesSentDelta: 0 }))).toMatchObject({ video_encode: 'ok', video_transfer: 'no video frames sent for 6 s' })
  })

  it('no video sender at all', () => {
    expect(field(periods({ videoFramesSentDelta: null, videoFramesEncodedDelta: null })).video_transfer).toBe('no video track sent')
  })
})

describe('the first failure', () => {
  const ok: RemoteDiagnosis = remote(every2s(NOW, 10_000, {}), NOW)
  const fieldOk = { field_mode: 'p2p', signal_connect: 'ok', media_connect: 'ok', video_transfer: 'ok', video_capture: 'ok', video_encode: 'ok', rtt: [], lost: [], bps: [], fps: [] } satisfies FieldDiagnosis
  const report = (result: DiagnosisReport['result'], link = 'ok'): Omit<DiagnosisReport, 'diag_error'> =>
    ({ device_id: 'me', remote_mqtt_connect: link, result })

  it('is ok when every check is', () => {
    expect(firstFailure(report([{ stream_id: 0, remote: ok, field: fieldOk }]))).toBe('ok')
  })

  it('our own link comes first', () => {
    expect(firstFailure(report([{ stream_id: 0, remote: { ...ok, video_transfer: 'no video frames received for 6 s' } }], 'not connected to the coordinator')))
      .toBe('our side: not connected to the coordinator')
  })

  it('follows the media: their camera before our missing frames', () => {
    const result = [{ stream_id: 0, remote: { ...ok, video_transfer: 'no video frames received for 6 s' }, field: { ...fieldOk, video_capture: 'the camera is turned off' } }]
    expect(firstFailure(report(result))).toBe('stream 0, their side: the camera is turned off')
  })

  it('names the stream and the side', () => {
    const result = [
      { stream_id: 0, remote: ok, field: fieldOk },
      { stream_id: 1, remote: ok, field: { ...fieldOk, video_transfer: 'no video frames sent for 6 s' } },
    ]
    expect(firstFailure(report(result))).toBe('stream 1, their side: no video frames sent for 6 s')
    expect(firstFailure(report([{ stream_id: 2, remote: { ...ok, video_decode: 'no video frames decoded for 6 s' } }])))
      .toBe('stream 2, our side: no video frames decoded for 6 s')
  })
})
