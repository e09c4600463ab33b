/**
 * Four people in one m2m room, measured in the real page: four headless Chromium contexts
 * (fake camera) on a relay serving the built app. Each round: A clicks "Create room"; as
 * soon as A's link shows, B, C and D paste it and click Join together; every page records
 * (polled in the page, ~4 ms resolution) when it shows all three remote videos with frames
 * decoded. Times are epoch ms (performance.timeOrigin + now), comparable across the pages
 * of one machine. Then everyone leaves, and the next round starts from the lobby.
 *
 * Must run inside scripts/netns-run (WebRTC never uses loopback); bench/rooms.ts starts it
 * there. Prints one JSON line: { samples: [{ createToAllMs, joinToAllMs }], rounds, warmup, members }.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { chromium, type Page } from 'playwright'
import { startRelay } from '../src/relay/server'
import { openRoomsAs } from '../e2e/rooms-page'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ROUNDS = Number(process.env.BENCH_ROOMS ?? 8)
const WARMUP = 1
const MEMBERS = 4
const CLOSE_LIMIT_MS = 4_000
/** A round that has not shown every video by then fails the run. */
const ROUND_LIMIT_MS = 30_000

const prebuilt = process.env.BENCH_STATIC_DIR
const outDir = prebuilt ?? mkdtempSync(join(tmpdir(), 'bench-rooms-'))
if (!prebuilt) {
  const { build } = await import('vite')
  await build({ root: ROOT, logLevel: 'warn', build: { outDir, emptyOutDir: true } })
}
const relay = await startRelay({ port: 0, staticDir: outDir, logger: pino({ level: 'warn' }) })
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--disable-background-networking', '--disable-gpu'],
})
try {
  const pages: Page[] = []
  for (let i = 0; i < MEMBERS; i++) {
    const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
    // tsx (esbuild keepNames) wraps functions passed to page.evaluate in __name(); give the page one.
    await context.addInitScript('globalThis.__name = (fn) => fn')
    pages.push(await openRoomsAs(await context.newPage(), relay.url, `bench-room-${i}`))
  }
  const samples: { createToAllMs: number; joinToAllMs: number }[] = []
  for (let round = 0; round < ROUNDS + WARMUP; round++) {
    const sample = await oneRound(pages)
    if (round >= WARMUP) samples.push(sample)
    for (const page of pages) await page.getByTestId('rooms-leave').click()
    for (const page of pages) await page.locator('[data-testid=rooms-state][data-state=unjoined]').waitFor()
  }
  console.log(JSON.stringify({ rounds: ROUNDS, warmup: WARMUP, members: MEMBERS, samples }))
} finally {
  await Promise.race([
    Promise.allSettled([browser.close(), relay.close()]),
    new Promise((resolve) => setTimeout(resolve, CLOSE_LIMIT_MS).unref()),
  ])
  if (!prebuilt) rmSync(outDir, { recursive: true, force: true })
}
// Vite 8's in-process build leaves native work that keeps the event loop alive; this script is done.
process.exit(0)

async function oneRound(pages: Page[]): Promise<{ createToAllMs: number; joinToAllMs: number }> {
  const [host, ...joiners] = pages as [Page, ...Page[]]
  const others = pages.length - 1
  // Each page watches for all remote videos decoding, from before anyone clicks.
  const shown = pages.map((page) => page.evaluate(([others, limit]) => new Promise<number>((resolve, reject) => {
    const deadline = performance.now() + limit
    const poll = () => {
      const videos = [...document.querySelectorAll<HTMLVideoElement>('[data-testid=rooms-tile][data-own=""] video')]
      if (videos.length === others && videos.every((video) => video.srcObject && video.getVideoPlaybackQuality().totalVideoFrames > 0)) {
        return resolve(performance.timeOrigin + performance.now())
      }
      if (performance.now() > deadline) return reject(new Error(`${videos.length} of ${others} remote videos within ${limit} ms`))
      setTimeout(poll, 4)
    }
    poll()
  }), [others, ROUND_LIMIT_MS] as const))
  const createdAt = await host.evaluate(() => {
    document.querySelector<HTMLInputElement>('[data-testid=rooms-type-m2m]')!.click()
    const at = performance.timeOrigin + performance.now()
    document.querySelector<HTMLButtonElement>('[data-testid=rooms-create]')!.click()
    return at
  })
  const link = await host.getByTestId('rooms-link').inputValue()
  await Promise.all(joiners.map((page) => page.getByTestId('rooms-join-id').fill(link)))
  const joinedAt = await Promise.all(joiners.map((page) => page.evaluate(() => {
    const at = performance.timeOrigin + performance.now()
    document.querySelector<HTMLButtonElement>('[data-testid=rooms-join]')!.click()
    return at
  })))
  const allShown = Math.max(...await Promise.all(shown))
  return { createToAllMs: allShown - createdAt, joinToAllMs: allShown - Math.max(...joinedAt) }
}
