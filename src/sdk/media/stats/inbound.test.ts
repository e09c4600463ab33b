import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decoderTypeOf, InboundStats, snapshotOf, type StatsSnapshot } from './inbound'
import type { WebRTCStats } from './types'

type Report = Record<string, unknown>
type Recorded = StatsSnapshot & { side: 'receive' | 'send' }

/** pc2's getStats() every 2 s of a real Chromium call (scripts/record-getstats.ts). */
const received = (name: string): StatsSnapshot[] =>
  (JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Recorded[])
    .filter((snapshot) => snapshot.side === 'receive')

const clean = received('chromium-call')
const lossy = received('chromium-call-lossy')
const inbound = (snapshot: StatsSnapshot, kind: string) => snapshot.reports.find((r) => r.type === 'inbound-rtp' && r.kind === kind) as Report & Record<string, number>

/** Every update's output over a recording, after the first (which gives []). */
function run(snapshots: StatsSnapshot[], tracker = new InboundStats({ srcUserId: 'peer' })) {
  return snapshots.map((snapshot) => tracker.update(snapshot))
}
const of = (stats: WebRTCStats[], kind: string) => stats.find((s) => s.mediaType === kind)!

describe('inbound stats from a recorded Chromium call', () => {
  it('gives nothing for the first reading: there is no period yet', () => {
    expect(new InboundStats({ srcUserId: 'peer' }).update(clean[2])).toEqual([])
  })

  it('gives one entry per received audio and video track, named as asked', () => {
    const [, , second] = run(clean, new InboundStats({ srcUserId: 'peer-7', streamId: 2 }))
    expect(second.map((s) => s.mediaType).sort()).toEqual(['audio', 'video'])
    expect(of(second, 'video')).toMatchObject({ srcUserId: 'peer-7', streamId: 2, trackId: inbound(clean[2], 'video').trackIdentifier })
  })

  it('bitrate is payload bits over the time between the two reports, in Mbit/s', () => {
    const stats = of(run(clean)[4], 'video')
    const [before, now] = [inbound(clean[3], 'video'), inbound(clean[4], 'video')]
    const seconds = (now.timestamp - before.timestamp) / 1000
    expect(stats.bitrate).toBeCloseTo(((now.bytesReceived - before.bytesReceived) * 8) / seconds / 1e6, 9)
    expect(stats.bitrate).toBeGreaterThan(0.1) // a 640×480 fake camera: a few hundred kbit/s
  })

  it('loss is the period’s lost share of expected packets, and since the start for lostAvg', () => {
    const stats = of(run(lossy)[5], 'audio')
    const [before, now] = [inbound(lossy[4], 'audio'), inbound(lossy[5], 'audio')]
    const lostDelta = now.packetsLost - before.packetsLost
    const receivedDelta = now.packetsReceived - before.packetsReceived
    expect(stats.packetsLostDelta).toBe(lostDelta)
    expect(stats.packetsReceivedDelta).toBe(receivedDelta)
    expect(stats.lost).toBeCloseTo((100 * lostDelta) / (lostDelta + receivedDelta), 9)
    expect(stats.lostAvg).toBeCloseTo((100 * now.packetsLost) / (now.packetsLost + now.packetsReceived), 9)
    expect(stats.lost).toBeGreaterThan(2) // the recording dropped ~7 % each way
  })

  it('rtt is the selected candidate pair’s, in ms; rttAvg the pair’s own running mean', () => {
    const stats = of(run(lossy)[7], 'video')
    const transport = lossy[7].reports.find((r) => r.type === 'transport')!
    const pair = lossy[7].reports.find((r) => r.id === transport.selectedCandidatePairId) as Record<string, number>
    expect(stats.rtt).toBeCloseTo(pair.currentRoundTripTime * 1000, 9)
    expect(stats.rttAvg).toBeCloseTo((pair.totalRoundTripTime / pair.responsesReceived) * 1000, 9)
    expect(stats.rtt).toBeGreaterThanOrEqual(140) // 80 ± 10 ms each way through the forwarder
  })

  it('names the codec, the decoder and whether it is hardware', () => {
    const stats = run(clean)[3]
    expect(of(stats, 'video')).toMatchObject({ codec: 'video/VP8', decoderImplementation: 'libvpx', decoderType: 'software' })
    expect(of(stats, 'audio').codec).toBe('audio/opus')
  })

  it('video: decode time, processing delay and jitter buffer in ms per frame over the period', () => {
    const stats = of(run(lossy)[6], 'video')
    const [before, now] = [inbound(lossy[5], 'video'), inbound(lossy[6], 'video')]
    const frames = now.framesDecoded - before.framesDecoded
    expect(stats.framesDecodedDelta).toBe(frames)
    expect(stats.decodeTime).toBeCloseTo(((now.totalDecodeTime - before.totalDecodeTime) / frames) * 1000, 9)
    expect(stats.processingDelay).toBeCloseTo(((now.totalProcessingDelay - before.totalProcessingDelay) / frames) * 1000, 9)
    const emitted = now.jitterBufferEmittedCount - before.jitterBufferEmittedCount
    expect(stats.jitterBuffer).toBeCloseTo(((now.jitterBufferDelay - before.jitterBufferDelay) / emitted) * 1000, 9)
    expect(stats.decodeTimeAvg).toBeCloseTo((now.totalDecodeTime / now.framesDecoded) * 1000, 9)
    expect(stats.resolution).toBe(`${now.frameWidth}x${now.frameHeight}`)
    expect(stats.fps).toBe(now.framesPerSecond)
  })

  it('video latency is half the round trip plus jitter buffer plus decode', () => {
    const stats = of(run(lossy)[6], 'video')
    expect(stats.latency).toBeCloseTo(stats.rtt! / 2 + stats.jitterBuffer! + stats.decodeTime!, 9)
  })

  it('audio: delays per emitted sample, its level, and no video figures', () => {
    const stats = of(run(lossy)[6], 'audio')
    const [before, now] = [inbound(lossy[5], 'audio'), inbound(lossy[6], 'audio')]
    const samples = now.jitterBufferEmittedCount - before.jitterBufferEmittedCount
    expect(stats.jitterBuffer).toBeCloseTo(((now.jitterBufferDelay - before.jitterBufferDelay) / samples) * 1000, 9)
    expect(stats.processingDelay).toBeCloseTo(((now.totalProcessingDelay - before.totalProcessingDelay) / samples) * 1000, 9)
    expect(stats.jitterBufferTargetAvg).toBeCloseTo((now.jitterBufferTargetDelay / now.jitterBufferEmittedCount) * 1000, 9)
    expect(stats.audioLevel).toBe(now.audioLevel)
    expect(stats.jitter).toBe(now.jitter) // seconds, as reported
    expect(stats).toMatchObject({ firCount: null, pliCount: null, framesReceived: null, framesDecodedDelta: null, resolution: null, fps: null, decodeTime: null, latency: null, stableFps: null })
  })

  it('a track that appears counts its period from 0', () => {
    const [, first] = run(clean) // the first reading had no inbound-rtp yet
    const now = inbound(clean[1], 'video')
    expect(of(first, 'video').packetsReceivedDelta).toBe(now.packetsReceived)
    expect(of(first, 'video').bitrate).toBeCloseTo((now.bytesReceived * 8) / ((clean[1].at - clean[0].at) / 1000) / 1e6, 9)
  })

  it('freeze shares come from the lag map, and are null without one', () => {
    const tracker = new InboundStats({ srcUserId: 'peer' })
    tracker.update(clean[2])
    const videoId = String(inbound(clean[3], 'video').trackIdentifier)
    const stats = tracker.update(clean[3], new Map([[videoId, { lag100: 0.25, lag150: 0.1 }]]))
    expect(of(stats, 'video')).toMatchObject({ lag100: 0.25, lag150: 0.1 })
    expect(of(stats, 'audio')).toMatchObject({ lag100: null, lag150: null })
    expect(of(run(clean)[3], 'video')).toMatchObject({ lag100: null, lag150: null })
  })

  it('stableFps is the mean fps of the last 10 s, leaving out periods at 0 fps', () => {
    const fps = [30, 0, 20, 0, 10, 24, 26]
    const tracker = new InboundStats({ srcUserId: 'peer', windowMs: 10_000 })
    const snapshot = (i: number, fps: number): StatsSnapshot => ({
      at: i * 2_000,
      reports: [{ id: 'V', type: 'inbound-rtp', kind: 'video', trackIdentifier: 't', ssrc: 1, timestamp: i * 2_000, packetsReceived: i * 100, framesPerSecond: fps }],
    })
    tracker.update(snapshot(0, 0))
    const stable = fps.map((value, i) => of(tracker.update(snapshot(i + 1, value)), 'video').stableFps)
    expect(stable.slice(0, 3)).toEqual([30, 30, 25])
    // At 14 s the window (4 s, 14 s] holds 20, 0, 10, 24, 26.
    expect(stable[6]).toBeCloseTo((20 + 10 + 24 + 26) / 4, 9)
  })

  it('stableFps is null while the video has not moved', () => {
    const tracker = new InboundStats({ srcUserId: 'peer' })
    const still = (at: number): StatsSnapshot => ({ at, reports: [{ id: 'V', type: 'inbound-rtp', kind: 'video', trackIdentifier: 't', ssrc: 1, timestamp: at, framesPerSecond: 0 }] })
    tracker.update(still(0))
    expect(of(tracker.update(still(2_000)), 'video').stableFps).toBeNull()
  })
})

describe('inbound stats edge cases', () => {
  const video = (at: number, fields: Report): StatsSnapshot =>
    ({ at, reports: [{ id: `V${fields.ssrc ?? 1}`, type: 'inbound-rtp', kind: 'video', trackIdentifier: 't', ssrc: 1, timestamp: at, ...fields }] })

  it('another SSRC on the same track (renegotiation) restarts the counts from 0, never negative', () => {
    const tracker = new InboundStats({ srcUserId: 'peer' })
    tracker.update(video(0, { packetsReceived: 5_000, packetsLost: 40, bytesReceived: 5_000_000, framesDecoded: 600, nackCount: 30 }))
    const [stats] = tracker.update(video(2_000, { ssrc: 2, packetsReceived: 150, packetsLost: 2, bytesReceived: 100_000, framesDecoded: 30, nackCount: 1 }))
    expect(stats).toMatchObject({ packetsReceivedDelta: 150, packetsLostDelta: 2, framesDecodedDelta: 30, nackDelta: 1 })
    expect(stats.bitrate).toBeCloseTo((100_000 * 8) / 2 / 1e6, 9)
  })

  it('packetsLost going back (a late packet arrived) is a delta of 0, not a restart', () => {
    const tracker = new InboundStats({ srcUserId: 'peer' })
    tracker.update(video(0, { packetsReceived: 1_000, packetsLost: 10 }))
    const [stats] = tracker.update(video(2_000, { packetsReceived: 1_100, packetsLost: 9 }))
    expect(stats).toMatchObject({ packetsReceivedDelta: 100, packetsLostDelta: 0, lost: 0 })
  })

  it('what the report lacks is null, not invented', () => {
    const tracker = new InboundStats({ srcUserId: 'peer' })
    tracker.update(video(0, {}))
    const [stats] = tracker.update(video(2_000, { packetsReceived: 10, bytesReceived: 1_000 }))
    expect(stats).toMatchObject({
      rtt: null, rttAvg: null, codec: null, decoderImplementation: null, decoderType: 'unknown', firCount: null, pliCount: null,
      framesReceived: null, resolution: null, fps: null, decodeTime: null, decodeTimeAvg: null, processingDelay: null,
      jitter: null, jitterBuffer: null, jitterBufferTarget: null, latency: null, lag100: null, lag150: null, stableFps: null,
      nack: 0, nackDelta: 0, lost: 0, lostAvg: 0,
    })
  })

  it('without a candidate pair, rtt falls back on the remote report', () => {
    const tracker = new InboundStats({ srcUserId: 'peer' })
    const remote = { id: 'R', type: 'remote-outbound-rtp', roundTripTime: 0.12, totalRoundTripTime: 0.5, roundTripTimeMeasurements: 5 }
    tracker.update(video(0, {}))
    const snapshot = video(2_000, { remoteId: 'R' })
    const [stats] = tracker.update({ ...snapshot, reports: [...snapshot.reports, remote] })
    expect(stats.rtt).toBeCloseTo(120, 9)
    expect(stats.rttAvg).toBeCloseTo(100, 9)
  })

  it('skips inbound reports without a track (e.g. before the track is set up)', () => {
    const tracker = new InboundStats({ srcUserId: 'peer' })
    tracker.update({ at: 0, reports: [] })
    expect(tracker.update({ at: 2_000, reports: [{ id: 'V', type: 'inbound-rtp', kind: 'video', ssrc: 1 }] })).toEqual([])
  })
})

describe('decoder type', () => {
  it.each([
    [true, 'libvpx', 'hardware'],
    [false, 'ExternalDecoder', 'software'],
    [undefined, 'libvpx', 'software'],
    [undefined, 'FFmpeg', 'software'],
    [undefined, 'dav1d', 'software'],
    [undefined, 'ExternalDecoder (MediaCodecVideoDecoder)', 'hardware'],
    [undefined, 'VAAPI', 'hardware'],
    [undefined, 'D3D11VideoDecoder', 'hardware'],
    [undefined, null, 'unknown'],
    [undefined, 'Something', 'unknown'],
  ] as const)('powerEfficientDecoder %s, implementation %s → %s', (power, implementation, type) => {
    expect(decoderTypeOf(power, implementation)).toBe(type)
  })
})

describe('snapshotOf', () => {
  it('copies the reports and takes the newest timestamp', () => {
    const report = new Map([['a', { id: 'a', type: 'codec', timestamp: 10 }], ['b', { id: 'b', type: 'transport', timestamp: 12 }]]) as unknown as RTCStatsReport
    const snapshot = snapshotOf(report)
    expect(snapshot).toEqual({ at: 12, reports: [{ id: 'a', type: 'codec', timestamp: 10 }, { id: 'b', type: 'transport', timestamp: 12 }] })
  })

  it('an empty report is timed now', () => {
    const before = Date.now()
    expect(snapshotOf(new Map() as unknown as RTCStatsReport).at).toBeGreaterThanOrEqual(before)
  })
})
