import type { RelayChild } from '../../bench/lib/relay-child'
import type { Watch } from './watchers'
import { inLanes } from './waiting'

/** Well-behaved round trips start at most this often, so their own rates stay far below every limit. */
const PROBE_SPACING_MS = 250

export interface DriveResult {
  durationMs: number
  probes: number
  probeFailures: string[]
  /** Set when the run stopped early (the relay died, a session threw). */
  error: string | null
}

/**
 * Runs `sessions` fuzz connections, `lanes` at a time, while the watch's well-behaved
 * clients keep making round trips (one after each finished connection, spaced out), and
 * a last round trip after the fuzz.
 */
export async function drive(relay: RelayChild, watch: Watch, sessions: number, lanes: number, session: (index: number, lane: number) => Promise<void>): Promise<DriveResult> {
  const started = Date.now()
  const result: DriveResult = { durationMs: 0, probes: 0, probeFailures: [], error: null }
  let probing: Promise<void> | null = null
  let lastProbe = 0
  const probe = () => {
    if (probing || !relay.alive || Date.now() - lastProbe < PROBE_SPACING_MS) return
    lastProbe = Date.now()
    probing = watch.probe().then(
      () => { result.probes++ },
      (error: unknown) => { result.probeFailures.push(error instanceof Error ? error.message : String(error)) },
    ).finally(() => { probing = null })
  }
  try {
    await inLanes(sessions, lanes, async (index, lane) => {
      await session(index, lane)
      probe()
    })
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error)
  }
  await probing
  if (relay.alive) {
    await watch.probe().then(() => { result.probes++ }, (error: unknown) => { result.probeFailures.push(`after the fuzz: ${error instanceof Error ? error.message : String(error)}`) })
  }
  result.durationMs = Date.now() - started
  return result
}
