/**
 * Tabs mode (issue 5): request→ack round trip p50/p99 from a follower tab (BroadcastChannel)
 * and from the coordinator tab (in-process), a metadata write (strict IndexedDB commit
 * before the ack) when the engine has storage, and failover time — coordinator tab closed →
 * first request served by the new coordinator — p50 over BENCH_FAILOVERS runs (default 12).
 * The driver (bench/tabs-driver.ts) runs headless Chromium inside scripts/netns-run.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { RECONNECT_DELAYS_MS } from '../src/sdk/connection'
import { runNetnsDriver } from './lib/netns-driver'
import type { BenchPart } from './lib/part'
import { percentile, round } from './lib/report'

const DRIVER = fileURLToPath(new URL('./tabs-driver.ts', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** The whole part gives up after this long (~15 s here). */
const TIMEOUT_MS = 180_000

interface DriverResult {
  roundTrips: number
  followerPublish: number[]
  coordinatorPublish: number[]
  followerMetadata: number[] | null
  failoverMs: number[]
}

export const tabsPart: BenchPart = {
  name: 'tabs',
  description: 'tabs mode: request→ack round trip p50/p99 (follower, coordinator tab, strict IndexedDB write), failover time p50',
  async run({ log, print }) {
    if (!existsSync(CHROMIUM)) return { skipped: `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)` }
    log('tabs: round trips and failovers between headless Chromium tabs inside scripts/netns-run')
    const result = JSON.parse(await runNetnsDriver({ driver: DRIVER, isResult: (line) => line.startsWith('{'), timeoutMs: TIMEOUT_MS })) as DriverResult
    const stats = (samples: number[] | null) => samples && { p50Ms: round(percentile(samples, 50), 2), p99Ms: round(percentile(samples, 99), 2), count: samples.length }
    const figures = {
      followerPublish: stats(result.followerPublish),
      coordinatorPublish: stats(result.coordinatorPublish),
      followerMetadataWrite: stats(result.followerMetadata),
      failover: { p50Ms: round(percentile(result.failoverMs, 50), 0), maxMs: Math.max(...result.failoverMs), runs: result.failoverMs.length, samples: result.failoverMs },
    }
    const row = (label: string, value: ReturnType<typeof stats>) => [label, value?.p50Ms ?? 'n/a', value?.p99Ms ?? 'n/a', value?.count ?? 0]
    print({
      title: 'Tabs mode (no server): request → ack in headless Chromium',
      columns: ['request', 'p50 ms', 'p99 ms', 'samples'],
      rows: [
        row('publish, follower tab (BroadcastChannel)', figures.followerPublish),
        row('publish, coordinator tab (in-process)', figures.coordinatorPublish),
        row('setChannelMetadata, follower (strict IndexedDB commit)', figures.followerMetadataWrite),
      ],
      note: `failover (coordinator tab closed → first request served by the new coordinator): p50 ${figures.failover.p50Ms} ms, max ${figures.failover.maxMs} ms over ${figures.failover.runs} runs. ` +
        `Includes the SDK's first reconnect delay (${RECONNECT_DELAYS_MS[0]} ms). performance.now() is coarsened to 0.1 ms in pages.`,
    })
    return figures
  },
}
