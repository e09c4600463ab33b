/**
 * What the bench's two kinds of client process have in common (client-worker.ts with its
 * ClientPool, cluster-subscriber-worker.ts with its SubscriberPool): they differ only in how a
 * session is opened, so recording deliveries, the commands and the merging of the processes'
 * reports live here once.
 */
import { monoMs, type Marked } from './wire'
import { ForkedWorkers, serveParent } from './forked-workers'

/** The commands of a client process; only `open` (`Open`) differs between the kinds. */
export type ClientCommand<Open extends { cmd: 'open' }> =
  | Open
  | { cmd: 'reset' }
  | { cmd: 'stats'; latencies: boolean }
  | { cmd: 'close' }
export interface OpenedReport { opened: number; failed: number; firstError: string; ms: number }
export interface StatsReport { cpuMs: number; received: number; firstRecv: number; lastRecv: number; latencies: Float64Array; lastPerSeq: [number, number][] }

const LATENCY_CAP = 1 << 22

/** One process's bench deliveries: count, first and last arrival, latencies (up to LATENCY_CAP) and the slowest per seq. */
export class DeliveryRecorder {
  #received = 0
  #firstRecv = 0
  #lastRecv = 0
  #latencies = new Float64Array(1 << 16)
  #latencyCount = 0
  readonly #lastPerSeq = new Map<number, number>()

  /** Records one bench delivery (`marked.kind === 'b'`; the caller filters). */
  record(marked: Marked): void {
    const now = monoMs()
    this.#received++
    if (this.#firstRecv === 0) this.#firstRecv = now
    this.#lastRecv = now
    const latency = now - marked.sent
    if (this.#latencyCount < LATENCY_CAP) {
      if (this.#latencyCount === this.#latencies.length) {
        const grown = new Float64Array(this.#latencies.length * 2)
        grown.set(this.#latencies)
        this.#latencies = grown
      }
      this.#latencies[this.#latencyCount++] = latency
    }
    const prior = this.#lastPerSeq.get(marked.seq)
    if (prior === undefined || latency > prior) this.#lastPerSeq.set(marked.seq, latency)
  }

  reset(): void {
    this.#received = this.#firstRecv = this.#lastRecv = this.#latencyCount = 0
    this.#lastPerSeq.clear()
  }

  /** The counts and this process's CPU time so far; latencies only when asked (they can be megabytes). */
  stats(withLatencies: boolean): StatsReport {
    const cpu = process.cpuUsage()
    return {
      received: this.#received, firstRecv: this.#firstRecv, lastRecv: this.#lastRecv, cpuMs: (cpu.user + cpu.system) / 1000,
      latencies: withLatencies ? this.#latencies.slice(0, this.#latencyCount) : new Float64Array(0),
      lastPerSeq: withLatencies ? [...this.#lastPerSeq] : [],
    }
  }
}

/** Opens a session per item with `openOne`, `concurrency` at a time; a failure is counted (the first kept), not thrown. */
export async function openInLanes<T>(items: T[], concurrency: number, openOne: (item: T) => Promise<void>): Promise<OpenedReport> {
  const started = monoMs()
  let failed = 0
  let firstError = ''
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]
      try {
        await openOne(item)
      } catch (error) {
        failed++
        firstError ||= String(error)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane))
  return { opened: items.length - failed, failed, firstError, ms: monoMs() - started }
}

/** The worker's main loop: `open` and `close` are the kind's own, `reset` and `stats` go to `recorder`. */
export function serveClientCommands<Open extends { cmd: 'open' }>(
  recorder: DeliveryRecorder,
  open: (command: Open) => Promise<unknown>,
  close: () => void,
): void {
  serveParent<ClientCommand<Open>>((command) => {
    switch (command.cmd) {
      case 'reset': return recorder.reset()
      case 'stats': return recorder.stats(command.latencies)
      case 'close': return close()
      case 'open': return open(command as Open)
    }
  })
}

/**
 * The pool's side, shared by ClientPool and SubscriberPool: `size` processes running
 * `workerFile`; a subclass adds its `open` (by openShares).
 */
export class ClientProcessPool<Open extends { cmd: 'open' }> {
  protected readonly workers: ForkedWorkers<ClientCommand<Open>>

  constructor(workerFile: string, size: number) {
    this.workers = new ForkedWorkers(workerFile, size)
  }

  get size(): number {
    return this.workers.size
  }

  /** Process w opens items w, w + size, …: `command(share)` is its open command; the replies in process order. */
  protected openShares<T, Report>(items: T[], command: (share: T[]) => Open): Promise<Report[]> {
    const size = this.workers.size
    return Promise.all(Array.from({ length: size }, (_, w) =>
      this.workers.ask<Report>(w, command(items.filter((_, i) => i % size === w)))))
  }

  async reset(): Promise<void> {
    await this.workers.all({ cmd: 'reset' })
  }

  async stats(latencies = false): Promise<StatsReport> {
    return mergeStats(await this.workers.all<StatsReport>({ cmd: 'stats', latencies }))
  }

  /** Waits until `expected` deliveries arrived, or none arrived for `idleMs`, or `maxMs` passed. */
  async waitForDeliveries(expected: number, idleMs = 2000, maxMs = 30_000): Promise<StatsReport> {
    const started = performance.now()
    let last = -1
    let lastChange = started
    for (;;) {
      const stats = await this.stats()
      const now = performance.now()
      if (stats.received >= expected || now - started > maxMs) return stats
      if (stats.received !== last) { last = stats.received; lastChange = now }
      else if (now - lastChange > idleMs) return stats
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  async stop(): Promise<void> {
    await this.workers.close()
  }
}

/** The processes' open reports as one; `started` is the pool's performance.now() before asking. */
export function mergeOpened(reports: OpenedReport[], started: number): OpenedReport {
  return {
    opened: sum(reports.map((r) => r.opened)),
    failed: sum(reports.map((r) => r.failed)),
    firstError: reports.find((r) => r.firstError)?.firstError ?? '',
    ms: performance.now() - started,
  }
}

/** The processes' stats as one: counts summed, the earliest first and latest last arrival, latencies joined, the slowest per seq. */
export function mergeStats(reports: StatsReport[]): StatsReport {
  const merged = new Map<number, number>()
  for (const report of reports) {
    for (const [seq, latency] of report.lastPerSeq) merged.set(seq, Math.max(latency, merged.get(seq) ?? 0))
  }
  const all = new Float64Array(sum(reports.map((r) => r.latencies.length)))
  let at = 0
  for (const report of reports) { all.set(report.latencies, at); at += report.latencies.length }
  const active = reports.filter((r) => r.received > 0)
  return {
    cpuMs: sum(reports.map((r) => r.cpuMs)),
    received: sum(reports.map((r) => r.received)),
    firstRecv: active.length ? Math.min(...active.map((r) => r.firstRecv)) : 0,
    lastRecv: Math.max(0, ...reports.map((r) => r.lastRecv)),
    latencies: all,
    lastPerSeq: [...merged],
  }
}

export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}
