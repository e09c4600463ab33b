import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { StatsSnapshot } from './inbound'
import { OutboundStats, type SendPeriod } from './outbound'

type Recorded = StatsSnapshot & { side: 'receive' | 'send' }

/** pc1's getStats() every 2 s of a real Chromium call (scripts/record-getstats.ts). */
const sent = (name: string): StatsSnapshot[] =>
  (JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Recorded[])
    .filter((snapshot) => snapshot.side === 'send')

const clean = sent('chromium-call')
const lossy = sent('chromium-call-lossy')
const report = (snapshot: StatsSnapshot, type: string, kind: string) =>
  snapshot.reports.find((r) => r.type === type && r.kind === kind) as Record<string, number> & { mediaSourceId?: string }

function run(snapshots: StatsSnapshot[]): (SendPeriod | null)[] {
  const outbound = new OutboundStats()
  return snapshots.map((snapshot) => outbound.update(snapshot))
}

describe('our send side from a recorded Chromium call', () => {
  it('gives nothing for the first reading', () => {
    expect(run(clean)[0]).toBeNull()
  })

  it('kbps is every outbound stream’s payload bits over the period', () => {
    const period = run(clean)[4]!
    const bytes = (snapshot: StatsSnapshot) => snapshot.reports.filter((r) => r.type === 'outbound-rtp').reduce((sum, r) => sum + (r.bytesSent as number), 0)
    const seconds = (clean[4].at - clean[3].at) / 1000
    expect(period.at).toBe(clean[4].at)
    expect(period.kbps).toBeCloseTo(((bytes(clean[4]) - bytes(clean[3])) * 8) / seconds / 1000, 9)
  })

  it('counts the video frames captured, encoded and sent in the period', () => {
    const period = run(clean)[5]!
    const [before, now] = [report(clean[4], 'outbound-rtp', 'video'), report(clean[5], 'outbound-rtp', 'video')]
    const source = (snapshot: StatsSnapshot, id: string) => snapshot.reports.find((r) => r.id === id) as Record<string, number>
    expect(period.videoFramesSentDelta).toBe(now.framesSent - before.framesSent)
    expect(period.videoFramesEncodedDelta).toBe(now.framesEncoded - before.framesEncoded)
    expect(period.videoFramesCapturedDelta).toBe(source(clean[5], now.mediaSourceId!).frames - source(clean[4], before.mediaSourceId!).frames)
    expect(period.videoFramesSentDelta).toBeGreaterThan(0)
    expect(period.fps).toBe(now.framesPerSecond)
  })

  it('rtt and loss come from what the receiver reported back about our video', () => {
    const period = run(lossy)[7]!
    const remote = report(lossy[7], 'remote-inbound-rtp', 'video')
    expect(period.rtt).toBeCloseTo(remote.roundTripTime * 1000, 9)
    expect(period.lost).toBeCloseTo(remote.fractionLost * 100, 9)
    expect(period.lost).toBeGreaterThan(0)
  })
})

describe('send side edge cases', () => {
  const snapshot = (at: number, reports: Record<string, unknown>[]): StatsSnapshot => ({ at, reports })

  it('without a remote report, rtt is the candidate pair’s and loss is unknown', () => {
    const outbound = new OutboundStats()
    outbound.update(snapshot(0, []))
    const period = outbound.update(snapshot(2_000, [
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P' },
      { id: 'P', type: 'candidate-pair', currentRoundTripTime: 0.04 },
    ]))
    expect(period).toMatchObject({ rtt: 40, lost: null, kbps: 0, fps: null, videoFramesSentDelta: null, videoFramesCapturedDelta: null })
  })

  it('a restarted stream (counters went back) counts from 0 again', () => {
    const outbound = new OutboundStats()
    outbound.update(snapshot(0, [{ id: 'O', type: 'outbound-rtp', kind: 'video', bytesSent: 900_000, framesSent: 600 }]))
    const period = outbound.update(snapshot(2_000, [{ id: 'O', type: 'outbound-rtp', kind: 'video', bytesSent: 50_000, framesSent: 40 }]))
    expect(period).toMatchObject({ kbps: (50_000 * 8) / 2 / 1000, videoFramesSentDelta: 40, fps: 20 })
  })
})
