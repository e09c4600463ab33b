import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sum, type StatsReport } from './client-pool'

export type SubscriberCommand =
  | { cmd: 'open'; url: string; appId: string; userIds: string[]; channels: string[]; concurrency: number }
  | { cmd: 'reset' }
  | { cmd: 'stats'; latencies: boolean }
  | { cmd: 'close' }
export interface SubscriberOpenReport { opened: number; failed: number; firstError: string; ms: number }

const WORKER = fileURLToPath(new URL('./cluster-subscriber-worker.ts', import.meta.url))

/**
 * Light subscribers in several client processes, as ClientPool (bench/lib/client-pool.ts)
 * but with sessions that outlive a long round (see cluster-subscriber-worker.ts).
 */
export class SubscriberPool {
  readonly #workers: ChildProcess[]
  readonly #waiting = new Map<number, { worker: ChildProcess; resolve(reply: unknown): void; reject(error: Error): void }>()
  #nextReq = 1

  constructor(size: number) {
    this.#workers = Array.from({ length: size }, () => {
      const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      child.on('message', (message: { reqId: number; reply: unknown }) => {
        this.#waiting.get(message.reqId)?.resolve(message.reply)
        this.#waiting.delete(message.reqId)
      })
      child.on('exit', (code) => {
        for (const [reqId, waiting] of this.#waiting) {
          if (waiting.worker !== child) continue
          waiting.reject(new Error(`client process exited with code ${code}`))
          this.#waiting.delete(reqId)
        }
      })
      return child
    })
  }

  get size(): number {
    return this.#workers.length
  }

  #ask<T>(worker: ChildProcess, command: SubscriberCommand): Promise<T> {
    const reqId = this.#nextReq++
    return new Promise((resolve, reject) => {
      this.#waiting.set(reqId, { worker, resolve: resolve as (reply: unknown) => void, reject })
      worker.send({ ...command, reqId })
    })
  }

  #all<T>(command: SubscriberCommand): Promise<T[]> {
    return Promise.all(this.#workers.map((worker) => this.#ask<T>(worker, command)))
  }

  /** Logs `userIds` in to `appId` and subscribes each to `channels`, spread over the processes, `concurrency` at a time per process. */
  async open(url: string, appId: string, userIds: string[], channels: string[], concurrency = 64): Promise<SubscriberOpenReport> {
    const started = performance.now()
    const reports = await Promise.all(this.#workers.map((worker, w) => this.#ask<SubscriberOpenReport>(worker, {
      cmd: 'open', url, appId, channels, concurrency, userIds: userIds.filter((_, i) => i % this.#workers.length === w),
    })))
    return {
      opened: sum(reports.map((r) => r.opened)),
      failed: sum(reports.map((r) => r.failed)),
      firstError: reports.find((r) => r.firstError)?.firstError ?? '',
      ms: performance.now() - started,
    }
  }

  async reset(): Promise<void> {
    await this.#all({ cmd: 'reset' })
  }

  async stats(latencies = false): Promise<StatsReport> {
    const reports = await this.#all<StatsReport>({ cmd: 'stats', latencies })
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
    await Promise.all(this.#workers.map((worker) => new Promise<void>((resolve) => {
      if (worker.exitCode !== null) return resolve()
      worker.once('exit', () => resolve())
      worker.disconnect()
    })))
  }
}
