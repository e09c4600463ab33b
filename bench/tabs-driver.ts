/**
 * Tabs mode, measured in real Chromium tabs (no server but the page's files): the
 * request→ack round trip from a follower tab (BroadcastChannel) and from the coordinator
 * tab itself (in-process), for a publish and — when the engine has storage — a metadata
 * write acknowledged after its strict IndexedDB commit; then failover time: the
 * coordinator tab is closed → the first request served by the new coordinator, over
 * BENCH_FAILOVERS runs (default 12).
 *
 * Runs inside scripts/netns-run (browsers stay off the network); bench/tabs.ts starts it.
 * Prints one JSON line.
 */
import { chromium, type BrowserContext, type Page } from 'playwright'
import { createServer } from 'vite'
import type { Harness } from '../e2e/harness/sdk-harness'

declare global {
  var harness: Harness
}

const ROUND_TRIPS = Number(process.env.BENCH_TABS_RTT ?? 500)
const FAILOVERS = Number(process.env.BENCH_FAILOVERS ?? 12)
/** Paced under the seed's 10 storage calls per second. */
const METADATA_WRITES = Number(process.env.BENCH_TABS_WRITES ?? 50)

const server = await createServer({
  configFile: 'vite.config.ts', logLevel: 'error',
  server: { host: '127.0.0.1', port: 0, hmr: false },
  optimizeDeps: { include: ['idb', 'zod', 'socket.io-client', 'peerjs'] },
})
await server.listen()
const address = server.httpServer?.address()
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/e2e/harness/sdk.html`
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking'] })

async function tab(context: BrowserContext, appId: string, userId: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(url)
  await page.waitForFunction(() => 'harness' in globalThis)
  await page.evaluate(([appId, userId]) => harness.start(appId, userId, { transport: 'tabs' }), [appId, userId])
  await page.evaluate(() => harness.rtm!.subscribe('bench').then(() => undefined))
  return page
}

/** Sequential requests in the page, each timed from call to resolved promise (ms). */
function roundTrips(page: Page, op: 'publish' | 'metadata', count: number): Promise<number[]> {
  return page.evaluate(async ([op, count]) => {
    const rtm = harness.rtm!
    const samples: number[] = []
    const warmup = op === 'publish' ? 20 : 3
    for (let i = 0; i < count + warmup; i++) {
      const started = performance.now()
      if (op === 'publish') await rtm.publish('bench', 'x')
      else await rtm.storage.setChannelMetadata('bench', 'MESSAGE', [{ key: 'k', value: String(i) }])
      if (i >= warmup) samples.push(performance.now() - started)
      // Seed 000 allows 10 storage calls per second per user.
      if (op === 'metadata') await new Promise((resolve) => setTimeout(resolve, 110))
    }
    return samples
  }, [op, count] as const)
}

async function hasStorage(page: Page): Promise<boolean> {
  return page.evaluate(() => harness.rtm!.storage.getChannelMetadata('bench', 'MESSAGE').then(() => true, () => false))
}

/** One failover: A coordinates, B sends requests back to back; A closes; when does B get an answer from the new coordinator? */
async function failover(run: number): Promise<number> {
  const context = await browser.newContext()
  try {
    const appId = `bench-failover-${Date.now()}-${run}`
    const a = await tab(context, appId, 'a')
    const b = await tab(context, appId, 'b')
    await b.waitForFunction(() => harness.rtm!.coordinator.startsWith('tab '))
    const old = await b.evaluate(() => harness.rtm!.coordinator)
    const served = b.evaluate(async (old) => {
      const rtm = harness.rtm!
      for (;;) {
        await rtm.publish('bench', 'x').catch(() => undefined)
        if (rtm.coordinator !== old) return Date.now()
      }
    }, old)
    const closedAt = Date.now()
    await a.close()
    return (await served) - closedAt
  } finally {
    await context.close()
  }
}

try {
  const context = await browser.newContext()
  await context.addInitScript('globalThis.__name = (fn) => fn')
  const appId = `bench-rtt-${Date.now()}`
  const coordinator = await tab(context, appId, 'coordinator')
  const follower = await tab(context, appId, 'follower')
  await follower.waitForFunction(() => harness.rtm!.coordinator.startsWith('tab '))
  const storage = await hasStorage(follower)
  const result: Record<string, unknown> = {
    roundTrips: ROUND_TRIPS,
    followerPublish: await roundTrips(follower, 'publish', ROUND_TRIPS),
    coordinatorPublish: await roundTrips(coordinator, 'publish', ROUND_TRIPS),
    followerMetadata: storage ? await roundTrips(follower, 'metadata', METADATA_WRITES) : null,
  }
  await context.close()
  const failovers: number[] = []
  for (let run = 0; run < FAILOVERS; run++) failovers.push(await failover(run))
  result.failoverMs = failovers
  console.log(JSON.stringify(result))
} finally {
  await browser.close()
  await server.close()
}
