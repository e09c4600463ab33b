import { describe, expect, it } from 'vitest'
import { runSoak } from '../bench/soak'

/** The CI cut of `npm run soak`: the same mixed workload against a relay child process for 20 s. */
const SECONDS = 20
/** A relay at rest is ~110 MiB here; the workload adds tens of MiB. Far above that means something piles up. */
const PEAK_RSS_BOUND_MIB = 400

describe('a 20-second soak of the relay (chat, presence churn, metadata, locks, calls, slow readers, a reconnect storm)', () => {
  it('keeps the relay alive and answering, with only the expected lock-race errors and memory under 400 MiB', async () => {
    const result = await runSoak({ seconds: SECONDS, log: null })

    expect(result.relayAlive, result.relayExit ?? '').toBe(true)
    expect(result.loopFailures).toEqual([])
    expect(result.unexpectedErrors).toEqual({})
    expect(result.peakRssMiB).toBeGreaterThan(0)
    expect(result.peakRssMiB).toBeLessThan(PEAK_RSS_BOUND_MIB)
    // The workload really ran: messages delivered, calls completed, the storm's clients resumed their sessions.
    const total = (field: 'deliveries' | 'calls') => result.rows.reduce((sum, row) => sum + row[field], 0)
    expect(total('deliveries')).toBeGreaterThan(1000)
    expect(total('calls')).toBeGreaterThan(10)
    const storms = result.rows.flatMap((row) => row.storms)
    expect(storms.length).toBeGreaterThan(0)
    for (const storm of storms) expect(storm.resumed).toBe(storm.size)
    // Every acknowledged chat publish reached its channel's members (a storm interval loses what was sent while they were away).
    for (const row of result.rows.filter((r) => r.storms.length === 0)) expect(row.chatDeliveredPct, `at ${row.at}`).toBeGreaterThan(90)
  }, 60_000)
})
