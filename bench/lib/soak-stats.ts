import type { NativeStats, Reply } from './raw-client'

/** Error codes the workload provokes on purpose (races over shared locks); anything else is a finding. */
export const EXPECTED_CODES: Record<string, string> = {
  '-14004': 'LOCK_ALREADY_EXIST (setLock of a lock another client set)',
  '-14006': 'LOCK_NOT_ACQUIRED (release after the lock was removed or revoked)',
  '-14007': 'LOCK_ACQUIRE_FAILED (held by another client, no retry)',
  '-14008': 'LOCK_NOT_EXIST (removed by another client between set and acquire)',
}

/** One reporting interval's counts. */
export class IntervalStats {
  requests = 0
  deliveries = 0
  events = 0
  latencies: number[] = []
  errors = new Map<string, number>()
  slowClosed = 0
  slowLingering = 0
  calls = 0
  callSetupMs: number[] = []
  storms: { size: number; reconnected: number; resumed: number; ms: number }[] = []

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1)
  }
}

/** Collects into the current interval; `roll` starts the next one. */
export class SoakStats implements NativeStats {
  current = new IntervalStats()
  readonly totalErrors = new Map<string, number>()

  roll(): IntervalStats {
    const done = this.current
    this.current = new IntervalStats()
    for (const [code, count] of done.errors) this.totalErrors.set(code, (this.totalErrors.get(code) ?? 0) + count)
    return done
  }

  onReply(_op: string, reply: Reply): void {
    this.current.requests++
    this.current.latencies.push(reply.ms)
    if (!reply.ok) this.current.error(reply.error?.errorCode ? String(reply.error.errorCode) : (reply.error?.name ?? 'unknown'))
  }

  onEvent(kind: string): void {
    if (kind === 'message') this.current.deliveries++
    else this.current.events++
  }

  onDisconnect(): void {
    this.current.error('disconnected')
  }
}
