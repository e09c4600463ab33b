/**
 * Call setup time (issue 3): click "Call" in tab A → ICE connected, and → first remote video
 * frame decoded, p50/p95 over BENCH_CALLS calls (default 12, after one warm-up) between two
 * headless Chromium tabs with the fake camera, on the built page served by the relay; then
 * the same through a real coturn with relay candidates only (issue 12; skipped without
 * coturn or with BENCH_CALLS_TURN=0). WebRTC never uses loopback (FACTS.md), so the driver
 * runs inside scripts/netns-run.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { isSamplesLine, runNetnsDriver } from './lib/netns-driver'
import type { BenchPart } from './lib/part'
import { percentile, round } from './lib/report'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DRIVER = fileURLToPath(new URL('./calls-driver.ts', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** The whole part gives up after this long (build + 2 × ~13 calls take ~30 s here). */
const TIMEOUT_MS = 240_000

interface Sample { connectedMs: number; firstFrameMs: number }

export const callsPart: BenchPart = {
  name: 'calls',
  description: 'call setup time: click "Call" → ICE connected / first remote frame, two tabs, p50/p95',
  async run({ log, print }) {
    if (!existsSync(`${ROOT}/index.html`)) return { skipped: 'no index.html yet: no page to call from' }
    if (!existsSync(CHROMIUM)) return { skipped: `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)` }
    log('calls: building the page and running calls between two tabs inside scripts/netns-run')
    const output = await runNetnsDriver({ driver: DRIVER, isResult: isSamplesLine, timeoutMs: TIMEOUT_MS })
    const { samples, calls, warmup, turn } = JSON.parse(output) as { samples: Sample[]; calls: number; warmup: number; turn?: { samples: Sample[] } | { skipped: string } }
    const direct = setupFigures(samples)
    const throughTurn = turn && 'samples' in turn ? setupFigures(turn.samples) : null
    const rows = (label: string, figures: ReturnType<typeof setupFigures>) => [
      [`${label}: ICE connected`, figures.connectedP50Ms, figures.connectedP95Ms, figures.connectedMaxMs],
      [`${label}: first remote video frame`, figures.firstFrameP50Ms, figures.firstFrameP95Ms, figures.firstFrameMaxMs],
    ]
    print({
      title: `Call setup, two headless Chromium tabs, fake camera (${calls} calls after ${warmup} warm-up, each way)`,
      columns: ['click "Call" →', 'p50 ms', 'p95 ms', 'max ms'],
      rows: [...rows('direct', direct), ...(throughTurn ? rows('through TURN', throughTurn) : [])],
      note: 'includes getUserMedia on both sides, session + call + accept through the relay, trickle ICE; B accepts as soon as the prompt renders. '
        + (throughTurn ? 'Through TURN: coturn 4.6.1 on the namespace address, credentials from /ice-servers, iceTransportPolicy relay (both tabs allocate; the selected pair is checked to be relay).'
          : `Through TURN skipped: ${turn && 'skipped' in turn ? turn.skipped : 'no result'}.`),
    })
    return { calls, warmup, ...direct, turn: throughTurn ?? turn ?? null }
  },
}

function setupFigures(samples: Sample[]) {
  const connected = samples.map((s) => s.connectedMs)
  const firstFrame = samples.map((s) => s.firstFrameMs)
  return {
    connectedP50Ms: round(percentile(connected, 50), 1), connectedP95Ms: round(percentile(connected, 95), 1), connectedMaxMs: round(Math.max(...connected), 1),
    firstFrameP50Ms: round(percentile(firstFrame, 50), 1), firstFrameP95Ms: round(percentile(firstFrame, 95), 1), firstFrameMaxMs: round(Math.max(...firstFrame), 1),
    samples,
  }
}

