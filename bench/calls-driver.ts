/**
 * Call setup time, measured in the real page: two headless Chromium tabs (fake camera)
 * on a relay serving the built app. Tab A clicks "Call" on B; B accepts the moment the
 * prompt shows (in-page, no automation round trip); A records, from the click, when ICE
 * connected and when the first remote video frame was decoded (polled, ~4 ms resolution).
 * Then the same through TURN: a real coturn on the namespace's address (e2e/turn/coturn.ts)
 * and a second relay serving TURN credentials with ICE_TRANSPORT_POLICY=relay, so both tabs
 * gather relay candidates only and every packet goes through coturn.
 *
 * Must run inside scripts/netns-run (WebRTC never uses loopback); bench/calls.ts starts it
 * there. Prints one JSON line: { samples: [{ connectedMs, firstFrameMs }], turn: { samples } | { skipped }, ... }.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { chromium, type Page } from 'playwright'
import { startRelay, type Relay } from '../src/relay/server'
import { openAppAs } from '../e2e/calls-page'
import { Coturn, TURNSERVER } from '../e2e/turn/coturn'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CALLS = Number(process.env.BENCH_CALLS ?? 12)
const WARMUP = 1
const CLOSE_LIMIT_MS = 4_000
/** netns-run's veth address: coturn listens and relays there (WebRTC never uses loopback). */
const TURN_ADDRESS = '10.99.0.1'
const TURN_SECRET = 'bench-turn-secret'

// BENCH_STATIC_DIR: measure an already built page instead of building this checkout.
const prebuilt = process.env.BENCH_STATIC_DIR
const outDir = prebuilt ?? mkdtempSync(join(tmpdir(), 'bench-calls-'))
if (!prebuilt) {
  const { build } = await import('vite')
  await build({ root: ROOT, logLevel: 'warn', build: { outDir, emptyOutDir: true } })
}
const relay = await startRelay({ port: 0, staticDir: outDir, logger: pino({ level: 'warn' }) })
// BENCH_CALLS_TURN=0 skips the TURN run.
const coturn = process.env.BENCH_CALLS_TURN !== '0' && Coturn.available() ? await Coturn.start({ address: TURN_ADDRESS, secret: TURN_SECRET }) : null
const turnRelay = coturn && await startRelay({
  port: 0, staticDir: outDir, logger: pino({ level: 'warn' }),
  ice: { servers: [], turn: { secret: TURN_SECRET, urls: [coturn.url], ttlSeconds: 600 }, transportPolicy: 'relay' },
})
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--disable-background-networking'],
})
try {
  const samples = await callsOn(relay)
  const turn = turnRelay
    ? { samples: await callsOn(turnRelay, 'relay') }
    : { skipped: process.env.BENCH_CALLS_TURN === '0' ? 'BENCH_CALLS_TURN=0' : `no coturn at ${TURNSERVER} (apt-get install coturn)` }
  console.log(JSON.stringify({ calls: CALLS, warmup: WARMUP, samples, turn }))
} finally {
  // Bounded: a browser, relay or coturn that will not close must not keep the bench waiting.
  await Promise.race([
    Promise.allSettled([browser.close(), relay.close(), turnRelay?.close(), coturn?.stop()]),
    new Promise((resolve) => setTimeout(resolve, CLOSE_LIMIT_MS).unref()),
  ])
  if (!prebuilt) rmSync(outDir, { recursive: true, force: true })
}
// Vite 8's in-process build leaves native work that keeps the event loop alive; this script is done.
process.exit(0)

/**
 * CALLS calls (after WARMUP) between two fresh tabs on `on`'s page. `expectPair`: the
 * selected candidate pair must have an end of this type (relay: the call went through TURN).
 */
async function callsOn(on: Relay, expectPair?: 'relay'): Promise<{ connectedMs: number; firstFrameMs: number }[]> {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
  // tsx (esbuild keepNames) wraps functions passed to page.evaluate in __name(); give the page one.
  await context.addInitScript('globalThis.__name = (fn) => fn')
  const a = await openWithIce(await context.newPage(), on, 'bench-a')
  const b = await openWithIce(await context.newPage(), on, 'bench-b')
  await autoAccept(b)
  const samples: { connectedMs: number; firstFrameMs: number }[] = []
  for (let i = 0; i < CALLS + WARMUP; i++) {
    const sample = await oneCall(a, 'bench-b')
    if (i >= WARMUP) samples.push(sample)
    if (expectPair) {
      // A figure for "through TURN" only counts if the media really went through it.
      const pair = a.getByTestId('calls-selected-pair')
      await pair.and(a.locator(`[data-local-type=${expectPair}],[data-remote-type=${expectPair}]`)).waitFor({ state: 'attached' })
    }
    await a.getByTestId('calls-hangup').click()
    await a.getByTestId('calls-ended').waitFor()
    await b.getByTestId('calls-ended').waitFor()
    // Both must list each other as WAIT again before the next call.
    await a.locator('[data-testid=calls-peer][data-sid="bench-b"][data-state=WAIT]').waitFor()
  }
  await context.close()
  return samples
}

/** Opens the app as `userId` once its ICE servers (TURN credentials, policy) have arrived, so no call goes without them. */
async function openWithIce(page: Page, on: Relay, userId: string): Promise<Page> {
  const served = page.waitForResponse((response) => response.url().includes('/ice-servers?'))
  await openAppAs(page, on.url, userId)
  await served
  return page
}

/** B clicks Accept as soon as the prompt renders, inside the page. */
async function autoAccept(page: Page): Promise<void> {
  await page.evaluate(() => {
    new MutationObserver(() => {
      const accept = document.querySelector<HTMLButtonElement>('[data-testid=calls-accept]')
      if (accept && !accept.dataset.clicked) {
        accept.dataset.clicked = '1'
        accept.click()
      }
    }).observe(document.body, { childList: true, subtree: true })
  })
}

/** Clicks Call in A's page and waits there for ICE connected and the first remote frame. */
async function oneCall(page: Page, peer: string): Promise<{ connectedMs: number; firstFrameMs: number }> {
  return page.evaluate(async (peer) => {
    const video = document.querySelector<HTMLVideoElement>('[data-testid=calls-remote-video]')!
    const state = () => document.querySelector('[data-testid=calls-connection-state]')?.textContent
    const button = document.querySelector<HTMLButtonElement>(`[data-testid=calls-peer][data-sid="${peer}"] [data-testid=calls-call]`)!
    let connectedAt = 0
    const observer = new MutationObserver(() => { if (!connectedAt && state() === 'connected') connectedAt = performance.now() })
    observer.observe(document.body, { childList: true, subtree: true, characterData: true })
    const start = performance.now()
    // The first decoded remote frame (totalVideoFrames > 0). requestVideoFrameCallback is not
    // used: in headless Chromium it fires up to ~1 s after frames are decoded and playing.
    const firstFrame = new Promise<number>((resolve, reject) => {
      const deadline = performance.now() + 15_000
      const poll = () => {
        if (video.srcObject && video.getVideoPlaybackQuality().totalVideoFrames > 0) return resolve(performance.now())
        if (performance.now() > deadline) return reject(new Error('no remote frame within 15 s'))
        setTimeout(poll, 1)
      }
      poll()
    })
    button.click()
    const frameAt = await firstFrame
    observer.disconnect()
    return { connectedMs: (connectedAt || frameAt) - start, firstFrameMs: frameAt - start }
  }, peer)
}
