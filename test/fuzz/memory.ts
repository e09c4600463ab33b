import { HEAP_TOLERANCE, MEMORY_SETTLE_MS, RSS_TOLERANCE } from './config'
import type { Health, RelayChild } from '../../bench/lib/relay-child'

export interface MemoryCheck {
  before: Health['memory']
  after: Health['memory']
  settledInMs: number
  ok: boolean
}

const MiB = 1024 * 1024
export const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`

/**
 * Collects until heapUsed is back within HEAP_TOLERANCE of `before` (and RSS within
 * RSS_TOLERANCE), or MEMORY_SETTLE_MS passed; returns the last measurement.
 */
export async function settleMemory(relay: RelayChild, before: Health['memory']): Promise<MemoryCheck> {
  const started = Date.now()
  for (;;) {
    const after = (await relay.collectedHealth()).memory
    const ok = after.heapUsed <= before.heapUsed + HEAP_TOLERANCE && after.rss <= before.rss + RSS_TOLERANCE
    if (ok || Date.now() - started > MEMORY_SETTLE_MS) return { before, after, settledInMs: Date.now() - started, ok }
    await new Promise((resolve) => setTimeout(resolve, 500)) // between collections: timers (expiry, presence) run
  }
}

export function describeMemory(check: MemoryCheck): string {
  const { before, after } = check
  return `heapUsed ${mib(before.heapUsed)} → ${mib(after.heapUsed)} (tolerance +${mib(HEAP_TOLERANCE)}), rss ${mib(before.rss)} → ${mib(after.rss)} (tolerance +${mib(RSS_TOLERANCE)}), after ${check.settledInMs} ms`
}
