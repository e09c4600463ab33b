import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { InboundStats, type StatsSnapshot } from './inbound'
import { bitrateScore, connectionQuality, mosOf, R0, rFactor, trackQuality } from './quality'
import type { WebRTCStats } from './types'

type Recorded = StatsSnapshot & { side: 'receive' | 'send' }

/** The stats of the last period of a recorded Chromium call. */
function lastPeriod(name: string): WebRTCStats[] {
  const snapshots = (JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Recorded[])
    .filter((snapshot) => snapshot.side === 'receive')
  const inbound = new InboundStats({ srcUserId: 'peer' })
  return snapshots.map((snapshot) => inbound.update(snapshot)).at(-1)!
}

/** A healthy 640×480 video period; each test changes what it is about. */
const video = (fields: Partial<WebRTCStats> = {}): WebRTCStats => ({
  srcUserId: 'peer', trackId: 't', streamId: 0, mediaType: 'video', bitrate: 0.6, packetsReceived: 1_000, packetsLost: 0,
  lost: 0, lostAvg: 0, rtt: 20, rttAvg: 20, codec: 'video/VP8', decoderImplementation: 'libvpx', decoderType: 'software',
  nack: 0, firCount: 0, pliCount: 0, framesReceived: 300, framesDecoded: 300, keyFramesDecoded: 1, resolution: '640x480',
  fps: 30, decodeTime: 2, decodeTimeAvg: 2, processingDelay: 5, processingDelayAvg: 5, audioLevel: null, jitter: 0.005,
  jitterBuffer: 30, jitterBufferAvg: 30, jitterBufferTarget: 30, jitterBufferTargetAvg: 30, latency: 42, lag100: 0, lag150: 0,
  nackDelta: 0, firCountDelta: 0, pliCountDelta: 0, framesReceivedDelta: 60, framesDecodedDelta: 60, packetsReceivedDelta: 200,
  packetsLostDelta: 0, stableFps: 30, ...fields,
})

describe('the R-factor (Twilio mos.ts, LiveKit scorer.go)', () => {
  it('below 160 ms effective latency costs a point per 40 ms', () => {
    // rtt 20 + 2 × 5 + 10 = 40 ms → 1 point
    expect(rFactor(20, 5, 0)).toBeCloseTo(R0 - 1, 9)
  })

  it('from 160 ms on costs a point per 10 ms past 120 ms', () => {
    // rtt 200 + 2 × 20 + 10 = 250 ms → (250 − 120) / 10 = 13 points
    expect(rFactor(200, 20, 0)).toBeCloseTo(R0 - 13, 9)
  })

  it('costs 2.5 points per % lost, and never goes below 0', () => {
    expect(rFactor(0, 0, 4)).toBeCloseTo(R0 - 10 / 40 - 10, 9)
    expect(rFactor(0, 0, 60)).toBe(0)
  })
})

describe('MOS', () => {
  it('is 1 + 0.035 R + 0.000007 R (R − 60)(100 − R), rounded to 2 decimals', () => {
    const r = 80
    expect(mosOf(r)).toBe(Math.round((1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r)) * 100) / 100)
    expect(mosOf(r)).toBe(4.02)
  })

  it('stays within 1–4.5', () => {
    expect(mosOf(0)).toBe(1)
    expect(mosOf(3)).toBe(1) // the polynomial dips below 1 near 0
    expect(mosOf(100)).toBe(4.5)
  })
})

describe('track quality', () => {
  it('a clean period is EXCELLENT', () => {
    expect(trackQuality(video())).toEqual({ score: Math.round((R0 - 40 / 40) * 10) / 10, mos: mosOf(92.2), rating: 'EXCELLENT' })
  })

  it('jitter is taken in ms (WebRTCStats has it in seconds)', () => {
    // 0.1 s jitter: 20 + 200 + 10 = 230 ms → 11 points
    expect(trackQuality(video({ jitter: 0.1 })).score).toBeCloseTo(R0 - 11, 1)
  })

  it('10 % loss with 300 ms rtt is GOOD, 30 % is POOR', () => {
    expect(trackQuality(video({ lost: 10, rtt: 300 })).rating).toBe('GOOD')
    expect(trackQuality(video({ lost: 30, rtt: 300 })).rating).toBe('POOR')
  })

  it('video with far too few bits for its resolution and fps loses points (LiveKit bitrate score)', () => {
    // 640×480 at 30 fps expects 0.553 Mbit/s; 0.05 Mbit/s is 11× too few: 100 − 20 ln 11 ≈ 52
    const starved = video({ bitrate: 0.05 })
    expect(bitrateScore(starved)).toBeCloseTo(100 - 20 * Math.log((640 * 480 * 30 * 0.06) / 50_000), 9)
    expect(trackQuality(starved)).toMatchObject({ rating: 'GOOD' })
    expect(trackQuality(starved).score).toBeCloseTo(bitrateScore(starved)!, 1)
    expect(bitrateScore(video())).toBe(100)
  })

  it('audio has no bitrate score', () => {
    expect(bitrateScore(video({ mediaType: 'audio', resolution: null, fps: null }))).toBeNull()
  })

  it('a period in which nothing arrived is POOR (LiveKit’s "dry" 40)', () => {
    expect(trackQuality(video({ packetsReceivedDelta: 0, bitrate: 0, fps: 0 }))).toMatchObject({ score: 40, rating: 'POOR' })
    expect(trackQuality(video({ mediaType: 'audio', resolution: null, fps: null, packetsReceivedDelta: 0 }))).toMatchObject({ score: 40, rating: 'POOR' })
  })

  it('unknown rtt and jitter add no delay', () => {
    expect(trackQuality(video({ rtt: null, jitter: null })).score).toBeCloseTo(R0 - 10 / 40, 1)
  })
})

describe('connection quality', () => {
  it('is its worst track', () => {
    const good = video()
    const lossy = video({ lost: 20 })
    expect(connectionQuality([good, lossy])).toEqual(trackQuality(lossy))
  })

  it('with no track at all is the worst: nothing is received', () => {
    expect(connectionQuality([])).toEqual({ score: 0, mos: 1, rating: 'POOR' })
  })

  it('rates the recorded calls: the clean one EXCELLENT, the lossy one lower', () => {
    const clean = connectionQuality(lastPeriod('chromium-call'))
    const lossy = connectionQuality(lastPeriod('chromium-call-lossy'))
    expect(clean.rating).toBe('EXCELLENT')
    expect(lossy.score).toBeLessThan(clean.score - 5)
    expect(lossy.rating).not.toBe('EXCELLENT')
  })
})
