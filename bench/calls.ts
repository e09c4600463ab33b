/**
 * Call setup time (issue 3): click "Call" in tab A → ICE connected, and → first remote video
 * frame decoded, p50/p95 over BENCH_CALLS calls (default 12, after one warm-up) between two
 * headless Chromium tabs with the fake camera, on the built page served by the relay; then
 * the same through a real coturn with relay candidates only (issue 12; skipped without
 * coturn or with BENCH_CALLS_TURN=0). WebRTC never uses loopback (FACTS.md), so the driver
 * runs inside scripts/netns-run.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { BenchPart } from './lib/part'
import { percentile, round } from './lib/report'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DRIVER = fileURLToPath(new URL('./calls-driver.ts', import.meta.url))
const NETNS_RUN = fileURLToPath(new URL('../scripts/netns-run', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** The whole part gives up after this long (build + 2 × ~13 calls take ~30 s here). */
const TIMEOUT_MS = 240_000
/** How long the driver may take to close its browser and relay after printing its result. */
const CLEANUP_GRACE_MS = 5_000

interface Sample { connectedMs: number; firstFrameMs: number }

export const callsPart: BenchPart = {
  name: 'calls',
  description: 'call setup time: click "Call" → ICE connected / first remote frame, two tabs, p50/p95',
  async run({ log, print }) {
    if (!existsSync(`${ROOT}/index.html`)) return { skipped: 'no index.html yet: no page to call from' }
    if (!existsSync(CHROMIUM)) return { skipped: `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)` }
    log('calls: building the page and running calls between two tabs inside scripts/netns-run')
    const output = await runDriver()
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

/**
 * Runs the driver and resolves with its JSON result line as soon as it is printed (or when
 * the driver exits), never waiting for stdout to close: a leftover Chromium helper can hold
 * the pipe open long after the driver is gone. The driver leads its own process group, so
 * whatever it leaves behind is ended with it.
 */
function runDriver(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(NETNS_RUN, [process.execPath, '--import', 'tsx', DRIVER], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    let result: string | null = null
    let exited = false
    const endGroup = (signal: NodeJS.Signals) => {
      try { process.kill(-child.pid!, signal) } catch { /* the group is already gone */ }
    }
    const finish = (error: Error | null) => {
      clearTimeout(timer)
      child.stdout.destroy()
      child.stderr.destroy()
      if (error) reject(error)
      else resolve(result!)
      // Let the driver close its browser and relay itself; end what is still there after that.
      if (exited) endGroup('SIGKILL')
      else setTimeout(() => endGroup('SIGKILL'), CLEANUP_GRACE_MS).unref()
    }
    child.stdout.on('data', (chunk: Buffer) => {
      if (result !== null) return
      stdout += chunk
      const line = stdout.split('\n').slice(0, -1).find(isResultLine)
      if (line) {
        result = line
        finish(null)
      }
    })
    child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk).slice(-4000) })
    const timer = setTimeout(() => endGroup('SIGKILL'), TIMEOUT_MS)
    child.on('exit', (code, signal) => {
      exited = true
      if (result !== null) return endGroup('SIGKILL')
      const line = stdout.split('\n').find(isResultLine)
      if (line) {
        result = line
        return finish(null)
      }
      finish(new Error(`calls driver failed (${signal ?? `exit ${code}`}${signal === 'SIGKILL' ? `, timed out after ${TIMEOUT_MS / 1000} s` : ''}): ${stderr || stdout}`))
    })
  })
}

function isResultLine(line: string): boolean {
  if (!line.startsWith('{')) return false
  try {
    return Array.isArray((JSON.parse(line) as { samples?: unknown }).samples)
  } catch {
    return false
  }
}
